using Flywheel.Training.Data;
using Flywheel.Training.Torch;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace Flywheel.Training.Model;

/// <summary>
/// Causal attention over a packed batch: q, k and v of the real tokens ([tokens, heads, head_dim]) are scattered into
/// the batch's rows, attended with a mask that keeps each token to earlier tokens of its own sequence (torch's fused
/// scaled-dot-product attention), and gathered back. K/V heads are repeated for grouped-query attention, query head h
/// reading KV head h / (heads / kv_heads) as llama.cpp does.
/// </summary>
internal sealed class AttentionLayout : IDisposable
{
    private readonly Tensor? _slots;
    private readonly Tensor? _mask;
    private readonly long _rows, _rowLength;

    private AttentionLayout(Tensor? slots, Tensor? mask, long rows, long rowLength)
    {
        _slots = slots;
        _mask = mask;
        _rows = rows;
        _rowLength = rowLength;
    }

    internal static AttentionLayout Create(PackedBatch batch, Device device)
    {
        if (batch.Single) return new AttentionLayout(null, null, 1, batch.RowLength);
        var slots = tensor(batch.Slots, device: device);
        using var segments = tensor(batch.Segments, device: device).view(batch.Rows, batch.RowLength);
        using var same = segments.unsqueeze(2).eq(segments.unsqueeze(1));
        using var causal = ones(batch.RowLength, batch.RowLength, ScalarType.Bool, device).tril();
        var mask = same.logical_and(causal).unsqueeze(1); // [rows, 1, L_q, L_k]
        return new AttentionLayout(slots, mask, batch.Rows, batch.RowLength);
    }

    /// <summary>Attention output [tokens, heads, head_dim].</summary>
    internal Tensor Attend(Tensor q, Tensor k, Tensor v, float scale)
    {
        long n = q.shape[0], heads = q.shape[1], hd = q.shape[2], kvHeads = k.shape[1];
        // torch's attention scales by 1/sqrt(head_dim): a model with its own scale gets its queries rescaled.
        double correction = scale * Math.Sqrt(hd);
        using var qs = Math.Abs(correction - 1) < 1e-7 ? q.alias() : q.Times(correction);
        using var qr = ToRows(qs);
        using var kr0 = ToRows(k);
        using var vr0 = ToRows(v);
        using var kr = kvHeads == heads ? kr0.alias() : kr0.repeat_interleave(heads / kvHeads, 1);
        using var vr = kvHeads == heads ? vr0.alias() : vr0.repeat_interleave(heads / kvHeads, 1);
        using var o = _mask is null
            ? F.scaled_dot_product_attention(qr, kr, vr, is_casual: true)
            : F.scaled_dot_product_attention(qr, kr, vr, _mask);
        using var flat = o.transpose(1, 2).reshape(_rows * _rowLength, heads, hd);
        return _slots is null ? flat.alias() : flat.index_select(0, _slots);
    }

    // [tokens, h, hd] → [rows, h, row_length, hd].
    private Tensor ToRows(Tensor x)
    {
        long h = x.shape[1], hd = x.shape[2];
        if (_slots is null) return x.view(1, _rowLength, h, hd).transpose(1, 2);
        using var padded = zeros([_rows * _rowLength, h, hd], x.dtype, x.device).index_copy(0, _slots, x);
        return padded.view(_rows, _rowLength, h, hd).transpose(1, 2);
    }

    public void Dispose()
    {
        _slots?.Dispose();
        _mask?.Dispose();
    }
}
