using System.Reflection;
using System.Reflection.Emit;
using Flywheel.Training.Torch;
using TorchSharp;

namespace Flywheel.Training.Tests;

/// <summary>
/// TorchSharp 0.107 frees a <see cref="Scalar"/> in its finalizer and never keeps one alive across the native call
/// that reads it, so a Scalar nobody holds can be freed mid-call by a collection on another thread ("Unknown scalar
/// type", or a wrong number). These tests read the trainer's compiled code: no Scalar is made that is not held (a
/// static one, or one disposed after use), and no TorchSharp method it calls makes one, however deep.
/// </summary>
public class ScalarLifetimeTests
{
    private static readonly Assembly Trainer = typeof(HeldScalars).Assembly;
    private static readonly Assembly TorchSharpAssembly = typeof(Scalar).Assembly;

    [Fact]
    public void The_trainer_makes_no_Scalar_that_it_does_not_hold()
    {
        var unheld = IlCalls.Methods(Trainer).Where(m => m.Name != ".cctor" && MakesUnheldScalar(m)).Select(IlCalls.Name).ToList();
        Assert.True(unheld.Count == 0, "these make a Scalar they do not dispose: " + string.Join("; ", unheld));
    }

    [Fact]
    public void No_TorchSharp_method_the_trainer_calls_makes_a_Scalar_it_does_not_hold()
    {
        var unsafeCalls = new HashSet<string>();
        var verdicts = new Dictionary<MethodBase, bool>();
        foreach (var caller in IlCalls.Methods(Trainer))
            foreach (var callee in IlCalls.Callees(caller))
                if (callee.DeclaringType?.Assembly == TorchSharpAssembly && !MakesScalar(callee) && Reaches(callee, verdicts, depth: 0))
                    unsafeCalls.Add($"{IlCalls.Name(caller)} → {IlCalls.Name(callee)}");
        Assert.True(unsafeCalls.Count == 0, "these TorchSharp calls make a Scalar nobody holds: " + string.Join("; ", unsafeCalls.Order()));
    }

    [Fact]
    public void The_check_finds_what_TorchSharps_own_operators_do()
    {
        // t + u passes an implicit alpha of 1; t * 0.5 converts 0.5: the checks above would see both.
        var add = typeof(torch.Tensor).GetMethod("op_Addition", [typeof(torch.Tensor), typeof(torch.Tensor)])!;
        var times = typeof(torch.Tensor).GetMethod("op_Multiply", [typeof(torch.Tensor), typeof(double)])!;
        Assert.True(Reaches(add, new(), 0));
        Assert.True(Reaches(times, new(), 0));
        var heldTimes = typeof(HeldScalars).GetMethod(nameof(HeldScalars.Times), BindingFlags.Static | BindingFlags.NonPublic)!;
        Assert.False(MakesUnheldScalar(heldTimes));
        Assert.Contains(IlCalls.Callees(heldTimes), MakesScalar);
    }

    private static bool MakesScalar(MethodBase m) =>
        (m.DeclaringType == typeof(Scalar) && m.Name == "op_Implicit")
        || (m.DeclaringType?.Name == "ScalarExtensionMethods" && m.Name.StartsWith("To", StringComparison.Ordinal) && m.Name.EndsWith("Scalar", StringComparison.Ordinal));

    private static bool MakesUnheldScalar(MethodBase m)
    {
        var callees = IlCalls.Callees(m);
        return callees.Any(MakesScalar) && !callees.Any(c => c.Name == "Dispose" && (c.DeclaringType == typeof(Scalar) || c.DeclaringType == typeof(IDisposable)));
    }

    // Whether a TorchSharp method makes an unheld Scalar, itself or through the TorchSharp methods it calls.
    private static bool Reaches(MethodBase m, Dictionary<MethodBase, bool> verdicts, int depth)
    {
        if (m.DeclaringType?.Assembly != TorchSharpAssembly || depth > 12 || MakesScalar(m)) return false;
        if (verdicts.TryGetValue(m, out bool known)) return known;
        verdicts[m] = false;
        bool result = MakesUnheldScalar(m) || IlCalls.Callees(m).Any(c => Reaches(c, verdicts, depth + 1));
        verdicts[m] = result;
        return result;
    }
}

/// <summary>The methods a method's IL calls (call, callvirt, newobj), read from its body.</summary>
internal static class IlCalls
{
    private const BindingFlags Declared = BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.Instance | BindingFlags.Static | BindingFlags.DeclaredOnly;

    private static readonly Dictionary<short, OpCode> OpCodesByValue = typeof(OpCodes)
        .GetFields(BindingFlags.Public | BindingFlags.Static).Select(f => (OpCode)f.GetValue(null)!).ToDictionary(o => o.Value);

    /// <summary>Every method and constructor an assembly declares, compiler-made ones (lambdas, iterators) included.</summary>
    internal static IEnumerable<MethodBase> Methods(Assembly assembly) =>
        assembly.GetTypes().SelectMany(t => t.GetMethods(Declared).Cast<MethodBase>().Concat(t.GetConstructors(Declared)));

    internal static List<MethodBase> Callees(MethodBase m)
    {
        var result = new List<MethodBase>();
        byte[]? il;
        try { il = m.GetMethodBody()?.GetILAsByteArray(); }
        catch (Exception e) when (e is BadImageFormatException or InvalidOperationException) { il = null; }
        if (il is null) return result;
        var typeArguments = m.DeclaringType is { IsGenericType: true } t ? t.GetGenericArguments() : null;
        var methodArguments = m.IsGenericMethod ? m.GetGenericArguments() : null;
        for (int i = 0; i < il.Length;)
        {
            short value = il[i] == 0xFE ? (short)(0xFE00 | il[++i]) : il[i];
            i++;
            var op = OpCodesByValue[value];
            if (op.OperandType == OperandType.InlineMethod)
            {
                try { result.Add(m.Module.ResolveMethod(BitConverter.ToInt32(il, i), typeArguments, methodArguments)!); }
                catch (Exception e) when (e is ArgumentException or FileNotFoundException or TypeLoadException) { }
            }
            i += op.OperandType switch
            {
                OperandType.InlineNone => 0,
                OperandType.ShortInlineBrTarget or OperandType.ShortInlineI or OperandType.ShortInlineVar => 1,
                OperandType.InlineVar => 2,
                OperandType.InlineI8 or OperandType.InlineR => 8,
                OperandType.InlineSwitch => 4 + 4 * BitConverter.ToInt32(il, i),
                _ => 4,
            };
        }
        return result;
    }

    internal static string Name(MethodBase m) =>
        $"{m.DeclaringType?.FullName}.{m.Name}({string.Join(", ", m.GetParameters().Select(p => p.ParameterType.Name))})";
}
