using System.ComponentModel.DataAnnotations;
using System.Globalization;
using System.Reflection;

namespace Flywheel.Training;

/// <summary>
/// The ranges options declare with <see cref="RangeAttribute"/>: checked here and written into the config schema from
/// the same attribute, so the rule a value must keep has one source. A maximum of <see cref="int.MaxValue"/> or more
/// means none; values must be finite numbers.
/// </summary>
public static class ValueRanges
{
    public static double Minimum(this RangeAttribute range)
    {
        ArgumentNullException.ThrowIfNull(range);
        return Convert.ToDouble(range.Minimum, CultureInfo.InvariantCulture);
    }

    /// <summary>The upper bound, or null where there is none.</summary>
    public static double? Maximum(this RangeAttribute range)
    {
        ArgumentNullException.ThrowIfNull(range);
        double max = Convert.ToDouble(range.Maximum, CultureInfo.InvariantCulture);
        return max >= int.MaxValue ? null : max;
    }

    /// <summary>The rule in words: "≥ 1", "> 0", "1 to 1000", "in (0, 1]".</summary>
    public static string Rule(this RangeAttribute range)
    {
        ArgumentNullException.ThrowIfNull(range);
        string min = range.Minimum().ToString(CultureInfo.InvariantCulture);
        if (range.Maximum() is not double max) return range.MinimumIsExclusive ? $"> {min}" : $"≥ {min}";
        string upper = max.ToString(CultureInfo.InvariantCulture);
        return range.OperandType == typeof(int) && !range.MinimumIsExclusive && !range.MaximumIsExclusive
            ? $"{min} to {upper}"
            : $"in {(range.MinimumIsExclusive ? '(' : '[')}{min}, {upper}{(range.MaximumIsExclusive ? ')' : ']')}";
    }

    /// <summary>"must be ≥ 1, got 0", or null where <paramref name="value"/> keeps the rule.</summary>
    public static string? Violation(this RangeAttribute range, object value)
    {
        ArgumentNullException.ThrowIfNull(range);
        ArgumentNullException.ThrowIfNull(value);
        double v = Convert.ToDouble(value, CultureInfo.InvariantCulture);
        double min = range.Minimum();
        bool ok = double.IsFinite(v)
            && (range.MinimumIsExclusive ? v > min : v >= min)
            && (range.Maximum() is not double max || (range.MaximumIsExclusive ? v < max : v <= max));
        return ok ? null : $"must be {range.Rule()}, got {Convert.ToString(value, CultureInfo.InvariantCulture)}";
    }

    /// <summary>The properties of <paramref name="options"/> (not of the objects they hold) whose value breaks its range; null values are not checked.</summary>
    public static IEnumerable<(PropertyInfo Property, string Violation)> Violations(object options)
    {
        ArgumentNullException.ThrowIfNull(options);
        foreach (var property in options.GetType().GetProperties(BindingFlags.Public | BindingFlags.Instance))
        {
            if (property.GetCustomAttribute<RangeAttribute>() is { } range && property.GetValue(options) is { } value && range.Violation(value) is { } violation)
                yield return (property, violation);
        }
    }
}
