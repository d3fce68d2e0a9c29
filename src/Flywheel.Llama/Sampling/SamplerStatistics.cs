namespace Flywheel.Llama.Sampling;

/// <summary>
/// What a <see cref="BatchedSampler"/> has done since it was made: llama_decode calls, the tokens they took
/// (placeholders included: tokens in free slots that keep a step one ubatch, see bench/README.md), candidates moved
/// down into freed slots, prompt tokens not decoded because another request in flight had them already (a shared
/// prefix), and the decode thread's busy time (decoding and sampling, not waits for input).
/// </summary>
public readonly record struct SamplerStatistics(long Decodes, long TokensDecoded, long Placeholders, long Moves, long ReusedPromptTokens, TimeSpan BusyTime);
