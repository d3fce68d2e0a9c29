using System.Security.Cryptography;
using System.Text;

namespace Flywheel.Pipeline.Stages;

/// <summary>
/// Seeds derived from (run seed, round, purpose, prompt id): a prompt samples the same candidates whether the run went
/// straight through or was killed and resumed, in whatever order prompts happen to be processed.
/// </summary>
public static class Seeds
{
    public static ulong Derive(ulong runSeed, int round, string purpose, string id)
    {
        Span<byte> hash = stackalloc byte[32];
        SHA256.HashData(Encoding.UTF8.GetBytes($"{runSeed}/{round}/{purpose}/{id}"), hash);
        return BitConverter.ToUInt64(hash);
    }
}
