using Flywheel.Training.Torch;

namespace Flywheel.Training.Tests;

/// <summary>LibTorch loads on this machine, and when it cannot, the reason is the loader's, in one line.</summary>
public class TorchRuntimeTests
{
    [Fact]
    public void The_copied_LibTorchSharp_marks_its_GLIBCXX_3_4_32_need_weak_and_loads()
    {
        // The package's libLibTorchSharp.so needs GLIBCXX_3.4.32, which Debian 12's libstdc++ lacks; the build marks it weak.
        byte[] library = File.ReadAllBytes(Path.Combine(AppContext.BaseDirectory, "libLibTorchSharp.so"));
        Assert.True(Flywheel.Training.Tests.ElfVersionNeeds.IsWeak(library, "GLIBCXX_3.4.32"), "GLIBCXX_3.4.32 is still a hard need");
        TorchRuntime.EnsureLoaded();
        using var t = TorchSharp.torch.ones(3);
        Assert.Equal(3f, t.sum().item<float>());
        Assert.False(File.Exists(Path.Combine(AppContext.BaseDirectory, "libtorch_python.so")));
    }

    [Fact]
    public void A_library_that_does_not_load_is_named_with_the_loaders_reason_in_one_line()
    {
        string dir = Directory.CreateTempSubdirectory("flywheel-torch-").FullName;
        File.WriteAllText(Path.Combine(dir, "libtorch.so"), "not a library");
        string reason = TorchRuntime.Reason(new NotSupportedException("The libtorch-cpu-linux-x64 package version 2.10.0.0 is not restored"), dir);
        Assert.Contains(Path.Combine(dir, "libtorch.so"), reason);
        Assert.DoesNotContain("not restored", reason);
        Assert.DoesNotContain('\n', reason);

        File.Delete(Path.Combine(dir, "libtorch.so"));
        Assert.Contains("is missing", TorchRuntime.Reason(new NotSupportedException("x"), dir));
    }
}

/// <summary>Reads an ELF file's version needs (.gnu.version_r), as the build's patch writes them.</summary>
internal static class ElfVersionNeeds
{
    public static bool IsWeak(byte[] elf, string version)
    {
        long shoff = BitConverter.ToInt64(elf, 0x28);
        int shentsize = BitConverter.ToUInt16(elf, 0x3A), shnum = BitConverter.ToUInt16(elf, 0x3C);
        for (int s = 0; s < shnum; s++)
        {
            int sh = (int)(shoff + (long)s * shentsize);
            if (BitConverter.ToUInt32(elf, sh + 4) != 0x6ffffffe) continue;
            long need = BitConverter.ToInt64(elf, sh + 0x18);
            int link = BitConverter.ToInt32(elf, sh + 0x28), count = BitConverter.ToInt32(elf, sh + 0x2C);
            long strings = BitConverter.ToInt64(elf, (int)(shoff + (long)link * shentsize) + 0x18);
            for (int n = 0; n < count; n++)
            {
                long aux = need + BitConverter.ToUInt32(elf, (int)need + 8);
                for (int a = 0; a < BitConverter.ToUInt16(elf, (int)need + 2); a++)
                {
                    int name = (int)(strings + BitConverter.ToUInt32(elf, (int)aux + 8));
                    if (System.Text.Encoding.ASCII.GetString(elf, name, Array.IndexOf(elf, (byte)0, name) - name) == version)
                        return (BitConverter.ToUInt16(elf, (int)aux + 4) & 2) != 0;
                    aux += BitConverter.ToUInt32(elf, (int)aux + 12);
                }
                need += BitConverter.ToUInt32(elf, (int)need + 12);
            }
        }
        throw new InvalidDataException($"no need of {version}");
    }
}
