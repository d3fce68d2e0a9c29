using TorchSharp;
using static TorchSharp.torch;

namespace Flywheel.Training.Torch;

/// <summary>
/// Tensor arithmetic with numbers that keeps each number's <see cref="Scalar"/> alive until libtorch has read it.
/// TorchSharp 0.107 frees a Scalar in its finalizer and hands <c>Scalar.Handle</c> to native code without keeping the
/// Scalar reachable, so one made by an implicit conversion (<c>t * 0.5</c>; <c>t + u</c> and <c>t.add_(u)</c>, which pass
/// alpha 1, as <c>t + 0.5</c> does besides its 0.5; <c>t.square()</c>, which passes 2) can be collected by any other thread's garbage collection while libtorch
/// reads it: "Unknown scalar type", or silently a wrong number. Flywheel.Training makes no Scalar any other way
/// (ScalarLifetimeTests read its code to check).
/// </summary>
internal static class HeldScalars
{
    // A static Scalar is never collected.
    private static readonly Scalar One = 1.ToScalar();

    /// <summary>a + b (TorchSharp's <c>a + b</c> passes an implicit alpha of 1).</summary>
    internal static Tensor Plus(this Tensor a, Tensor b) => a.add(b, One);

    /// <summary>a += b.</summary>
    internal static Tensor PlusInPlace(this Tensor a, Tensor b) => a.add_(b, One);

    /// <summary>a += alpha · b.</summary>
    internal static Tensor PlusInPlace(this Tensor a, Tensor b, double alpha)
    {
        using var s = alpha.ToScalar();
        return a.add_(b, s);
    }

    internal static Tensor Plus(this Tensor a, double b)
    {
        using var s = b.ToScalar();
        return a.add(s, One);
    }

    internal static Tensor PlusInPlace(this Tensor a, double b)
    {
        using var s = b.ToScalar();
        return a.add_(s, One);
    }

    /// <summary>a − t, as TorchSharp's <c>a - t</c> computes it: −t + a.</summary>
    internal static Tensor Minus(double a, Tensor t)
    {
        using var negative = t.neg();
        return negative.Plus(a);
    }

    internal static Tensor Times(this Tensor a, double b)
    {
        using var s = b.ToScalar();
        return a.mul(s);
    }

    internal static Tensor TimesInPlace(this Tensor a, double b)
    {
        using var s = b.ToScalar();
        return a.mul_(s);
    }

    internal static Tensor DividedBy(this Tensor a, double b)
    {
        using var s = b.ToScalar();
        return a.div(s);
    }

    /// <summary>a · a: what <c>square()</c> computes, forward and backward.</summary>
    internal static Tensor Squared(this Tensor a) => a.mul(a);

    internal static Tensor Clamped(this Tensor a, double min, double max)
    {
        using var lo = min.ToScalar();
        using var hi = max.ToScalar();
        return a.clamp(lo, hi);
    }

    internal static Tensor AtLeast(this Tensor a, double b)
    {
        using var s = b.ToScalar();
        return a.ge(s);
    }

    /// <summary>a += value · t1 · t2.</summary>
    internal static Tensor PlusProductInPlace(this Tensor a, Tensor t1, Tensor t2, double value)
    {
        using var s = value.ToScalar();
        return a.addcmul_(t1, t2, s);
    }

    /// <summary>a += value · t1 / t2.</summary>
    internal static Tensor PlusQuotientInPlace(this Tensor a, Tensor t1, Tensor t2, double value)
    {
        using var s = value.ToScalar();
        return a.addcdiv_(t1, t2, s);
    }

    internal static Tensor Filled(long[] shape, double value, ScalarType type, Device device)
    {
        using var s = value.ToScalar();
        return full(shape, s, type, device);
    }
}
