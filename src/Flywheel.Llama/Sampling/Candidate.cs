namespace Flywheel.Llama.Sampling;

/// <summary>One candidate being generated in its slot: its token sampler, tokens, text and why it stopped.</summary>
internal sealed class Candidate : IDisposable
{
    private readonly Utf8StreamDecoder _text = new();
    private readonly StopStringMatcher _stops;
    private readonly List<int> _tokens = new();
    private readonly List<int> _textEnds = new();
    private int? _textLength;
    private FinishReason _reason;

    public Candidate(int index, int slot, PromptFeed feed, GenerationRequest request)
    {
        Index = index;
        Slot = slot;
        Feed = feed;
        Options = request.Sampling;
        PromptLength = request.PromptTokens.Count;
        _stops = new StopStringMatcher(request.Sampling.StopStrings);
        Sampler = new TokenSampler(request.Sampling, GenerationRequest.CandidateSeed(request.Seed, index));
    }

    public int Index { get; }

    /// <summary>The slot (KV stream) it generates in; -1 while it awaits its prompt's KV, which a shared evaluation copies to it.</summary>
    public int Slot { get; set; }

    /// <summary>The prompt evaluation whose KV this candidate starts from (its own, or one shared by the request's K).</summary>
    public PromptFeed Feed { get; }

    public SamplingOptions Options { get; }
    public int PromptLength { get; }
    public TokenSampler Sampler { get; }
    public int TokenCount => _tokens.Count;

    /// <summary>The last sampled token, to be decoded in the next step; -1 when none waits.</summary>
    public int PendingToken { get; private set; } = -1;

    public int PendingPosition => PromptLength + TokenCount - 1;
    public int LogitsIndex { get; set; } = -1;
    public bool Finished { get; private set; }

    /// <summary>The slot has been handed back (its KV stream cleared).</summary>
    public bool Released { get; set; }

    /// <summary>Takes a sampled token: it ends the candidate, or is kept and decoded next step.</summary>
    public void Accept(int token, LlamaVocabulary vocab, Span<byte> scratch)
    {
        PendingToken = -1;
        if (vocab.IsEndOfGeneration(token))
        {
            Finish(FinishReason.EndOfGeneration);
            return;
        }
        _tokens.Add(token);
        int before = _text.Length;
        _text.Append(vocab.TokenBytes(token, special: false, lstrip: 0, scratch));
        _textEnds.Add(_text.Length);
        int stop = _stops.Find(_text, before);
        if (stop >= 0)
        {
            // The text ends before the stop string; so do the tokens, which scoring and SFT use as they were sampled:
            // the last kept token is the last one wholly before it.
            _textLength = stop;
            int kept = _textEnds.FindIndex(end => end > stop);
            _tokens.RemoveRange(kept, _tokens.Count - kept);
            Finish(FinishReason.StopString);
        }
        else if (TokenCount >= Options.MaxNewTokens)
        {
            Finish(FinishReason.Length);
        }
        else
        {
            PendingToken = token;
        }
    }

    private void Finish(FinishReason reason)
    {
        Finished = true;
        _reason = reason;
    }

    public GeneratedCandidate ToResult() => new(Index, _text.Finish(_textLength), _tokens.ToArray(), _reason);

    public void Dispose() => Sampler.Dispose();
}
