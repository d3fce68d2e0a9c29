using System.Runtime.CompilerServices;
using System.Threading.Channels;
using Flywheel.Llama.Contexts;
using LLama.Native;

namespace Flywheel.Llama.Sampling;

/// <summary>
/// Samples K candidates per prompt for a stream of prompts with continuous batching: each prompt is evaluated once and
/// its KV cache copied to its K sequences; several prompts are in flight so the batch stays full, and a finished
/// sequence's slot is reused at once. Memory is bounded by the number of sequences, not by the number of prompts.
/// One generation runs at a time per sampler; create one sampler per concurrent stream.
/// </summary>
public sealed class BatchedSampler : IDisposable
{
    private readonly LlamaModel _model;
    private readonly BatchedSamplerOptions _options;
    private readonly SafeLLamaContextHandle _ctx;
    private readonly DecodeCounters _counters = new();
    private int _running;

    public BatchedSampler(LlamaModel model, BatchedSamplerOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        _model = model;
        _options = options ?? new BatchedSamplerOptions();
        if (_options.BatchTokens < _options.Sequences)
            throw new ArgumentException($"batch tokens ({_options.BatchTokens}) must be at least the number of sequences ({_options.Sequences}): every generating sequence adds one token per step");
        _ctx = EngineContext.Create(model, _options.Sequences, _options.ContextPerSequence, _options.BatchTokens,
            _options.Threads ?? LlamaBackend.DefaultThreadCount, embeddings: false, _options.FlashAttention);
        ContextPerSequence = EngineContext.ContextPerSequence(_ctx);
    }

    /// <summary>Tokens one sequence holds (prompt + new tokens), after llama.cpp's rounding.</summary>
    public int ContextPerSequence { get; }

    public int Sequences => _options.Sequences;

    /// <summary>Time spent decoding and sampling since the sampler was made (its own thread's busy time, not waits).</summary>
    public TimeSpan BusyTime => Statistics.BusyTime;

    /// <summary>Decodes, tokens, placeholders, moves and busy time since the sampler was made.</summary>
    public SamplerStatistics Statistics => _counters.Snapshot();

    /// <summary>Generates the candidates of each request; results come in the order requests finish.</summary>
    public async IAsyncEnumerable<GenerationResult> GenerateAsync(IAsyncEnumerable<GenerationRequest> requests,
        [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(requests);
        ObjectDisposedException.ThrowIf(_ctx.IsClosed, this);
        if (Interlocked.Exchange(ref _running, 1) != 0) throw new InvalidOperationException("this sampler is already generating; use one sampler per stream");
        try
        {
            var output = Channel.CreateBounded<GenerationResult>(new BoundedChannelOptions(Math.Max(1, _options.Sequences))
            {
                SingleReader = true,
                SingleWriter = true,
            });
            using var cts = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            var loop = new DecodeLoop(_ctx, _model.Vocabulary, _options, ContextPerSequence, requests, output.Writer, _counters, cts.Token);
            var worker = Task.Factory.StartNew(loop.Run, cts.Token, TaskCreationOptions.LongRunning, TaskScheduler.Default);
            try
            {
                await foreach (var result in output.Reader.ReadAllAsync(cancellationToken))
                {
                    cancellationToken.ThrowIfCancellationRequested(); // results already buffered are not handed out after a cancel
                    yield return result;
                }
            }
            finally
            {
                // Stops the worker when the consumer leaves early; then waits so the context is free again.
                await cts.CancelAsync();
                try { await worker; }
                catch (OperationCanceledException) when (cts.IsCancellationRequested) { }
            }
            await worker; // surfaces the worker's exception when the channel completed with one
        }
        finally
        {
            Volatile.Write(ref _running, 0);
        }
    }

    /// <summary>Generates for a sequence of requests.</summary>
    public IAsyncEnumerable<GenerationResult> GenerateAsync(IEnumerable<GenerationRequest> requests, CancellationToken cancellationToken = default)
        => GenerateAsync(requests.ToAsyncEnumerable(), cancellationToken);

    public void Dispose() => _ctx.Dispose();
}
