namespace Flywheel.Parquet.Tests;

/// <summary>The Parquet corpora these tests judge the reader on: copies in TestData/ (see its README).</summary>
internal static class TestData
{
    public static string RepoRoot { get; } = FindRoot();

    public static string Corpora => Path.Combine(RepoRoot, "tests", "Flywheel.Parquet.Tests", "TestData");

    public static string ParquetTesting => Path.Combine(Corpora, "parquet-testing", "data");

    public static string BadData => Path.Combine(Corpora, "parquet-testing", "bad_data");

    public static string Fixtures => Path.Combine(Corpora, "parquet-fixtures");


    /// <summary>The folder, which must be there: a corpus that went missing fails the tests that read it rather than skipping them.</summary>
    public static string Existing(string dir) =>
        Directory.Exists(dir) ? dir : throw new DirectoryNotFoundException($"{dir}: the test corpus is missing from the repository");

    private static string FindRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Flywheel.sln")))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException("Flywheel.sln not found above " + AppContext.BaseDirectory);
    }
}
