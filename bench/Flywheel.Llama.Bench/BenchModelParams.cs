using LLama.Common;

/// <summary>LLamaSharp's parameters for the bench's runs on its own API: the sequences, context and batch the Flywheel runs get.</summary>
internal static class BenchModelParams
{
    public static ModelParams Create(string modelPath, int sequences, int contextPerSequence, int batch, int threads, bool kvUnified, bool flashAttention) => new(modelPath)
    {
        FlashAttention = flashAttention,
        ContextSize = (uint)(contextPerSequence * sequences),
        BatchSize = (uint)batch,
        UBatchSize = (uint)batch,
        SeqMax = (uint)sequences,
        Threads = threads,
        BatchThreads = threads,
        KVUnified = kvUnified,
    };
}
