using System.Globalization;

namespace Flywheel.Pipeline.Demo;

/// <summary>One problem of the demo task: an expression such as "3+5-8" whose prompt is "3+5-8=" and answer "0".</summary>
internal sealed record ArithmeticProblem(string Expression)
{
    internal string Prompt => Expression + "=";

    internal int Value
    {
        get
        {
            int value = 0, sign = 1, i = 0;
            while (i < Expression.Length)
            {
                int start = i;
                while (i < Expression.Length && char.IsAsciiDigit(Expression[i])) i++;
                value += sign * int.Parse(Expression.AsSpan(start, i - start), CultureInfo.InvariantCulture);
                if (i < Expression.Length) sign = Expression[i++] == '+' ? 1 : -1;
            }
            return value;
        }
    }

    internal string Answer => Value.ToString(CultureInfo.InvariantCulture);

    /// <summary>A stable id: the same problem always has the same one, whichever set it lands in.</summary>
    internal string Id => Expression;
}

/// <summary>
/// The demo's verifiable task: sums of two-digit numbers without carries ("23+45=" → "68"), so every prompt and every
/// right answer has the same layout. A byte-level Llama of ~100k parameters learns it in minutes on one CPU thread.
/// </summary>
internal sealed record ArithmeticTask
{
    internal int Operands { get; init; } = 2;
    internal int MinOperand { get; init; } = 10;
    internal int MaxOperand { get; init; } = 99;

    /// <summary>The operators between operands, each position any of them.</summary>
    internal string Operators { get; init; } = "+";

    /// <summary>Leave out problems whose answer is negative.</summary>
    internal bool NonNegative { get; init; } = true;

    /// <summary>
    /// Leave out problems with a carry or a borrow: each answer digit then depends on two digits at fixed places,
    /// a lookup a tiny model learns from a noisy corpus in a minute, where carries take it far longer.
    /// </summary>
    internal bool WithoutCarries { get; init; } = true;

    /// <summary>Every problem of the task, in a fixed order.</summary>
    internal IEnumerable<ArithmeticProblem> All() =>
        Expressions(Operands).Select(e => new ArithmeticProblem(e))
            .Where(p => (!NonNegative || p.Value >= 0) && (!WithoutCarries || !Carries(p.Expression)));

    private static bool Carries(string expression)
    {
        var parts = expression.Split('+', '-');
        int sign = expression.Contains('+', StringComparison.Ordinal) ? 1 : -1;
        if (parts.Length != 2) throw new NotSupportedException("carries are only checked for two operands");
        string a = parts[0], b = parts[1];
        for (int i = 1; i <= Math.Max(a.Length, b.Length); i++)
        {
            int x = i <= a.Length ? a[^i] - '0' : 0, y = i <= b.Length ? b[^i] - '0' : 0;
            if (sign > 0 ? x + y > 9 : x < y) return true;
        }
        return false;
    }

    private IEnumerable<string> Expressions(int operands)
    {
        var numbers = Enumerable.Range(MinOperand, MaxOperand - MinOperand + 1).Select(n => n.ToString(CultureInfo.InvariantCulture));
        if (operands == 1) return numbers;
        return from head in Expressions(operands - 1) from op in Operators from n in numbers select head + op + n;
    }

    /// <summary>The exact-match verifier: the reply, trimmed, is the answer's digits.</summary>
    internal static bool IsCorrect(string reply, string answer) => reply.Trim() == answer;
}
