using System.Runtime.InteropServices;

namespace Flywheel.Llama.Native;

internal sealed class SafeLlamaModelHandle : SafeHandle
{
    public SafeLlamaModelHandle() : base(IntPtr.Zero, ownsHandle: true) { }
    internal SafeLlamaModelHandle(IntPtr handle) : this() => SetHandle(handle);
    public override bool IsInvalid => handle == IntPtr.Zero;
    protected override bool ReleaseHandle()
    {
        LlamaNative.llama_model_free(handle);
        return true;
    }
}

internal sealed class SafeLlamaContextHandle : SafeHandle
{
    public SafeLlamaContextHandle() : base(IntPtr.Zero, ownsHandle: true) { }
    internal SafeLlamaContextHandle(IntPtr handle) : this() => SetHandle(handle);
    public override bool IsInvalid => handle == IntPtr.Zero;
    protected override bool ReleaseHandle()
    {
        LlamaNative.llama_free(handle);
        return true;
    }
}

internal sealed class SafeLlamaSamplerHandle : SafeHandle
{
    public SafeLlamaSamplerHandle() : base(IntPtr.Zero, ownsHandle: true) { }
    internal SafeLlamaSamplerHandle(IntPtr handle) : this() => SetHandle(handle);
    public override bool IsInvalid => handle == IntPtr.Zero;
    protected override bool ReleaseHandle()
    {
        LlamaNative.llama_sampler_free(handle);
        return true;
    }
}

/// <summary>Owns a <see cref="LlamaBatch"/> allocated by llama_batch_init; the struct itself is passed by value to llama_decode.</summary>
internal sealed class SafeLlamaBatchHandle : SafeHandle
{
    private LlamaBatch _batch;

    internal SafeLlamaBatchHandle(int capacity, int maxSequencesPerToken) : base(IntPtr.Zero, ownsHandle: true)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(capacity, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxSequencesPerToken, 1);
        _batch = LlamaNative.llama_batch_init(capacity, 0, maxSequencesPerToken);
        Capacity = capacity;
        unsafe { SetHandle((IntPtr)_batch.token); }
    }

    public int Capacity { get; }
    public int Count => _batch.n_tokens;
    public override bool IsInvalid => handle == IntPtr.Zero;
    internal LlamaBatch Batch => _batch;

    public void Clear() => _batch.n_tokens = 0;

    /// <summary>Appends a token of one sequence; returns its index in the batch (where its logits will be).</summary>
    public unsafe int Add(int token, int pos, int seq, bool logits)
    {
        if (_batch.n_tokens >= Capacity) throw new InvalidOperationException($"the batch is full ({Capacity} tokens)");
        int i = _batch.n_tokens++;
        _batch.token[i] = token;
        _batch.pos[i] = pos;
        _batch.n_seq_id[i] = 1;
        _batch.seq_id[i][0] = seq;
        _batch.logits[i] = logits ? (sbyte)1 : (sbyte)0;
        return i;
    }

    protected override bool ReleaseHandle()
    {
        LlamaNative.llama_batch_free(_batch);
        return true;
    }
}
