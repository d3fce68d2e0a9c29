namespace Flywheel.Parquet.Tests;

/// <summary>Finds the shared test corpora (../shared/data beside the repository).</summary>
internal static class TestData
{
    public static string RepoRoot { get; } = FindRoot();

    public static string SharedData => Path.GetFullPath(Path.Combine(RepoRoot, "..", "shared", "data"));

    public static string ParquetTesting => Path.Combine(SharedData, "parquet-testing", "data");

    public static string BadData => Path.Combine(SharedData, "parquet-testing", "bad_data");

    public static string Fixtures => Path.Combine(SharedData, "parquet-fixtures");


    public static string MissingMessage(string dir) => $"Test data not found at {dir} (the shared corpora sit at ../shared/data beside the repository).";

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
