namespace Persistence.Tests;

/// <summary>Finds files of the repository from a test's output directory.</summary>
internal static class RepositoryPaths
{
    /// <summary>Gets the directory that holds Persistence.Libraries.sln.</summary>
    public static string Root { get; } = FindRoot();

    private static string FindRoot()
    {
        for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
        {
            if (File.Exists(Path.Join(directory.FullName, "Persistence.Libraries.sln")))
            {
                return directory.FullName;
            }
        }

        throw new InvalidOperationException("The repository root (with Persistence.Libraries.sln) is not above " + AppContext.BaseDirectory);
    }
}
