using System.Text.Json.Nodes;
using Flywheel.Pipeline.Datasets;
using Flywheel.Pipeline.Stages;
using Flywheel.Training.RewardModel;

namespace Flywheel.Pipeline.Scoring;

/// <summary>What <see cref="RewardFileScoring.RunAsync"/> scores and writes.</summary>
internal sealed record ScoreFileOptions
{
    /// <summary>JSONL (or gzipped JSONL) or Parquet: prompt/response, messages, or preference pairs.</summary>
    public required string InputPath { get; init; }

    /// <summary>Where the rows go, in the input's format with their reward columns; null: only the summary.</summary>
    public string? OutputPath { get; init; }

    /// <summary>Replies only: write only rows whose reward is at least this, and count how many pass.</summary>
    public double? Threshold { get; init; }

    /// <summary>Score a row's sampled token ids, where it has them, instead of its text (the model has the sampler's vocabulary).</summary>
    public bool UseTokenIds { get; init; }

    /// <summary>Rows scored per call of the reward model (memory holds one batch and the writer's row group).</summary>
    public int BatchRows { get; init; } = 64;

    public IProgress<PipelineEvent>? Progress { get; init; }
}

/// <summary>
/// What a file scored to. Replies: the rewards' mean, minimum and maximum and, with a threshold, how many passed.
/// Pairs: the mean chosen and rejected rewards and the accuracy (chosen above rejected; a tie counts as wrong, as in
/// the trainer's held-out accuracy).
/// </summary>
internal sealed record ScoreSummary(
    string Layout, long Rows, long Written, long TokenIdRows,
    double? MeanReward, double? MinReward, double? MaxReward, double? Threshold, long? Passed, double? PassRate,
    double? MeanChosenReward, double? MeanRejectedReward, double? PairAccuracy);

/// <summary>
/// Scores a file's rows with a reward model, streaming: rows are read, scored in batches and written in order, so
/// memory holds one batch whatever the file's size. Bad rows raise <see cref="DatasetFormatException"/> naming the
/// file, line (or row) and field; the output appears only once every row is written.
/// </summary>
internal static class RewardFileScoring
{
    private sealed record Pending(SourceRow Row, JsonObject Parsed, ScoreInput Input);

    public static async Task<ScoreSummary> RunAsync(RewardScorer scorer, ScoreFileOptions options, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(scorer);
        ArgumentNullException.ThrowIfNull(options);
        if (options.BatchRows < 1) throw new ArgumentException($"batch rows must be ≥ 1, got {options.BatchRows}");
        if (!File.Exists(options.InputPath)) throw new InputException($"{options.InputPath}: file not found");

        string fileName = Path.GetFileName(options.InputPath);
        var parser = new ScoreRowParser();
        var batch = new List<Pending>(options.BatchRows);
        var stats = new Statistics(options.Threshold);
        ScoredRowsWriter? writer = null;
        long? total = null;
        options.Progress?.Report(new PipelineEvent(0, "score", 0, null, "started"));
        try
        {
            await foreach (var row in SourceRows.ReadAsync(options.InputPath, columns: null, ct))
            {
                ct.ThrowIfCancellationRequested();
                var parsed = row.Parse();
                var input = parser.Parse(parsed, row.At);
                if (stats.Rows == 0 && batch.Count == 0)
                {
                    bool pairs = parser.Layout == ScoreRowLayout.Pair;
                    if (pairs && options.Threshold is not null)
                        throw new InputException($"--threshold gates replies, and {fileName} holds preference pairs (their accuracy is reported instead)");
                    bool parquet = row is ParquetSourceRow;
                    if (parquet)
                    {
                        await using var reader = await Parquet.ParquetReader.OpenAsync(options.InputPath, ct);
                        total = reader.RowCount;
                    }
                    if (options.OutputPath is { } output) writer = await ScoredRowsWriter.CreateAsync(output, options.InputPath, parquet, ScoreColumns.For(pairs), ct);
                }
                batch.Add(new Pending(row, parsed, input));
                if (batch.Count == options.BatchRows) await FlushAsync();
            }
            if (batch.Count > 0) await FlushAsync();
            if (stats.Rows == 0) throw new DatasetFormatException(fileName, null, "holds no rows to score");
            if (writer is not null) await writer.CompleteAsync(ct);
        }
        finally
        {
            if (writer is not null) await writer.DisposeAsync();
        }
        options.Progress?.Report(new PipelineEvent(0, "score", stats.Rows, total, "done"));
        return stats.Summary(parser.Layout!.Value);

        async Task FlushAsync()
        {
            var rewards = Score(scorer, batch, options.UseTokenIds, ct);
            for (int i = 0; i < batch.Count; i++)
            {
                bool keep = stats.Add(rewards[i], batch[i].Input.PromptTokens is not null && options.UseTokenIds && batch[i].Input.Rejected is null);
                if (keep && writer is not null) await writer.WriteAsync(batch[i].Row, batch[i].Parsed, rewards[i], ct);
            }
            batch.Clear();
            options.Progress?.Report(new PipelineEvent(0, "score", stats.Rows, total, $"{stats.Rows:N0} rows"));
        }
    }

    /// <summary>Each row's rewards (one, or chosen and rejected): its token ids where asked and present, else its text.</summary>
    private static double[][] Score(RewardScorer scorer, List<Pending> batch, bool useTokenIds, CancellationToken ct)
    {
        var texts = new List<RewardQuery>();
        var textSlots = new List<(int Row, int Side)>();
        var sampled = new List<SampledReply>();
        var sampledRows = new List<int>();
        var rewards = new double[batch.Count][];
        for (int i = 0; i < batch.Count; i++)
        {
            var input = batch[i].Input;
            if (input.Rejected is { } rejected)
            {
                rewards[i] = new double[2];
                texts.Add(new RewardQuery(input.Prompt, input.Reply));
                textSlots.Add((i, 0));
                texts.Add(new RewardQuery(input.Prompt, rejected));
                textSlots.Add((i, 1));
                continue;
            }
            rewards[i] = new double[1];
            if (useTokenIds && input.PromptTokens is { } promptTokens && input.ReplyTokens is { } replyTokens)
            {
                sampled.Add(new SampledReply(promptTokens, replyTokens));
                sampledRows.Add(i);
            }
            else
            {
                texts.Add(new RewardQuery(input.Prompt, input.Reply));
                textSlots.Add((i, 0));
            }
        }
        if (texts.Count > 0)
        {
            float[] scores = scorer.Score(texts, cancellationToken: ct);
            for (int j = 0; j < scores.Length; j++) rewards[textSlots[j].Row][textSlots[j].Side] = scores[j];
        }
        if (sampled.Count > 0)
        {
            float[] scores = scorer.Score(sampled, cancellationToken: ct);
            for (int j = 0; j < scores.Length; j++) rewards[sampledRows[j]][0] = scores[j];
        }
        return rewards;
    }

    private sealed class Statistics(double? threshold)
    {
        private long _written, _tokenIdRows, _passed, _correct;
        private double _sum, _sumRejected, _min = double.PositiveInfinity, _max = double.NegativeInfinity;

        public long Rows { get; private set; }

        /// <summary>Counts one row; true where it is to be written (no threshold, or its reward reaches it).</summary>
        public bool Add(double[] rewards, bool fromTokenIds)
        {
            Rows++;
            if (fromTokenIds) _tokenIdRows++;
            _sum += rewards[0];
            if (rewards.Length == 2)
            {
                _sumRejected += rewards[1];
                if (rewards[0] > rewards[1]) _correct++;
                _written++;
                return true;
            }
            _min = Math.Min(_min, rewards[0]);
            _max = Math.Max(_max, rewards[0]);
            bool keep = threshold is null || rewards[0] >= threshold;
            if (keep) _written++;
            if (keep && threshold is not null) _passed++;
            return keep;
        }

        public ScoreSummary Summary(ScoreRowLayout layout) => layout == ScoreRowLayout.Pair
            ? new(Name(layout), Rows, _written, 0, null, null, null, null, null, null, _sum / Rows, _sumRejected / Rows, (double)_correct / Rows)
            : new(Name(layout), Rows, _written, _tokenIdRows, _sum / Rows, _min, _max, threshold,
                threshold is null ? null : _passed, threshold is null ? null : (double)_passed / Rows, null, null, null);

        private static string Name(ScoreRowLayout layout) => layout switch
        {
            ScoreRowLayout.Pair => "pairs",
            ScoreRowLayout.Messages => "messages",
            _ => "prompt/response",
        };
    }
}
