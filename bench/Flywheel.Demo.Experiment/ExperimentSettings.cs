using System.Globalization;
using System.Reflection;
using System.Text;
using Flywheel.Pipeline.Demo;

namespace Flywheel.Demo.Experiment;

/// <summary>The knobs of the search; on the command line as --kebab-case-name value. Defaults: the recommended settings.</summary>
internal sealed record ExperimentSettings
{
    private static DemoSettings R => DemoSettings.Recommended;

    // The starting policy and its data (the recipe); the defaults are DemoRecipe.Default's.
    public int Width { get; init; } = DemoRecipe.Default.Model.EmbeddingLength;
    public int Layers { get; init; } = DemoRecipe.Default.Model.Layers;
    public int FeedForward { get; init; } = DemoRecipe.Default.Model.FeedForwardLength;
    public int MinOperand { get; init; } = DemoRecipe.Default.Task.MinOperand;
    public int MaxOperand { get; init; } = DemoRecipe.Default.Task.MaxOperand;
    public int Operands { get; init; } = DemoRecipe.Default.Task.Operands;
    public string Operators { get; init; } = DemoRecipe.Default.Task.Operators;
    public bool WithoutCarries { get; init; } = DemoRecipe.Default.Task.WithoutCarries;
    public int CorpusRows { get; init; } = DemoRecipe.Default.CorpusRows;
    public double ErrorRate { get; init; } = DemoRecipe.Default.CorpusErrorRate;
    public int PretrainEpochs { get; init; } = DemoRecipe.Default.PretrainEpochs;
    public double PretrainLr { get; init; } = DemoRecipe.Default.PretrainLearningRate;
    public int PretrainBatch { get; init; } = DemoRecipe.Default.PretrainBatchSequences;
    public int AnnotationPrompts { get; init; } = DemoRecipe.Default.AnnotationPrompts;
    public int SelectionPrompts { get; init; } = DemoRecipe.Default.SelectionPrompts;
    public int EvaluationPrompts { get; init; } = DemoRecipe.Default.EvaluationPrompts;

    /// <summary>The starting policy for "rounds"; null: the committed demo policy. For "pretrain": where to write it.</summary>
    public string? Policy { get; init; }
    public string? Output { get; init; }

    // The rounds; the defaults are DemoSettings.Recommended's.
    public int Rounds { get; init; } = R.Rounds;
    public ulong Seed { get; init; } = R.Seed;
    public int Threads { get; init; } = R.Threads;
    public float Temperature { get; init; } = R.Temperature;
    public int TopK { get; init; } = R.TopK;
    public float TopP { get; init; } = R.TopP;
    public float MinP { get; init; } = R.MinP;
    public int MaxNewTokens { get; init; } = R.MaxNewTokens;
    public int Sequences { get; init; } = R.Sequences;

    public int AnnotationK { get; init; } = R.AnnotationK;
    public int PairsPerPrompt { get; init; } = R.PairsPerPrompt;
    public int RmEpochs { get; init; } = R.RmEpochs;
    public double RmLr { get; init; } = R.RmLearningRate;
    public double RmWeightDecay { get; init; } = R.RmWeightDecay;
    public int RmBatchPairs { get; init; } = R.RmBatchPairs;
    public double RmEvalFraction { get; init; } = R.RmEvalFraction;
    public double RmCenter { get; init; }

    public int K { get; init; } = R.K;
    public int TopN { get; init; } = R.TopN;
    public bool Dedupe { get; init; } = true;

    public int SftEpochs { get; init; } = R.SftEpochs;
    public double SftLr { get; init; } = R.SftLearningRate;
    public int SftBatch { get; init; } = R.SftBatchSequences;

    /// <summary>Samples per evaluation prompt for pass@1 (the mean over them: less noise than one each).</summary>
    public int EvalSamples { get; init; } = 4;

    public DemoRecipe Recipe() => DemoRecipe.Default with
    {
        Task = new ArithmeticTask { Operands = Operands, MinOperand = MinOperand, MaxOperand = MaxOperand, Operators = Operators, WithoutCarries = WithoutCarries },
        Model = DemoRecipe.Default.Model with { EmbeddingLength = Width, Layers = Layers, FeedForwardLength = FeedForward },
        CorpusRows = CorpusRows, CorpusErrorRate = ErrorRate, PretrainEpochs = PretrainEpochs, PretrainLearningRate = PretrainLr, PretrainBatchSequences = PretrainBatch,
        AnnotationPrompts = AnnotationPrompts, SelectionPrompts = SelectionPrompts, EvaluationPrompts = EvaluationPrompts,
    };

    public static ExperimentSettings Parse(string[] args)
    {
        object settings = new ExperimentSettings();
        for (int i = 0; i < args.Length; i += 2)
        {
            var property = typeof(ExperimentSettings).GetProperties().SingleOrDefault(p => Kebab(p.Name) == args[i].TrimStart('-'))
                ?? throw new ArgumentException($"unknown option {args[i]}");
            if (i + 1 >= args.Length) throw new ArgumentException($"{args[i]} needs a value");
            var type = Nullable.GetUnderlyingType(property.PropertyType) ?? property.PropertyType;
            property.SetValue(settings, Convert.ChangeType(args[i + 1], type, CultureInfo.InvariantCulture));
        }
        return (ExperimentSettings)settings;
    }

    private static string Kebab(string name)
    {
        var text = new StringBuilder();
        foreach (char c in name)
        {
            if (char.IsUpper(c) && text.Length > 0) text.Append('-');
            text.Append(char.ToLowerInvariant(c));
        }
        return text.ToString();
    }

    public override string ToString() => string.Join(' ', typeof(ExperimentSettings).GetProperties(BindingFlags.Public | BindingFlags.Instance)
        .Where(p => p.GetValue(this) is not null).Select(p => string.Create(CultureInfo.InvariantCulture, $"--{Kebab(p.Name)} {p.GetValue(this)}")));
}
