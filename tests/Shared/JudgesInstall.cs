namespace Flywheel.Tests.Shared;

/// <summary>
/// The npm-installed Parquet judges (tests/Flywheel.Parquet.Tests/judges) are shared by test assemblies that run in
/// parallel: whoever installs them holds this lock, so none reads a half-installed node_modules.
/// </summary>
internal static class JudgesInstall
{
    public static FileStream Lock(string judgesDir)
    {
        var deadline = DateTime.UtcNow.AddMinutes(10);
        while (true)
        {
            try
            {
                return new FileStream(Path.Combine(judgesDir, ".install.lock"), FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
            }
            catch (IOException) when (DateTime.UtcNow < deadline)
            {
                Thread.Sleep(200);
            }
        }
    }
}
