namespace Herald.Tests.Client;

/// <summary>tests/node with its npm packages installed (<c>npm ci</c> when one of them is missing, as after adding one).</summary>
internal static class NodeProject
{
    private static readonly TimeSpan NpmTimeout = TimeSpan.FromMinutes(3);

    /// <summary>The dependencies in tests/node/package.json.</summary>
    private static readonly string[] Packages = ["eventsource", "urlpattern-polyfill"];

    public static async Task<string> InstallAsync()
    {
        var project = Path.Combine(RepositoryRoot(), "tests", "node");
        if (Installed(project))
        {
            return project;
        }

        // A lock file, not a static lock: another test class (or test process) may install tests/node at the same time.
        var deadline = DateTime.UtcNow + NpmTimeout;
        FileStream? lockFile = null;
        while (lockFile is null)
        {
            try
            {
                lockFile = new FileStream(Path.Combine(project, ".install.lock"), FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None, 1, FileOptions.DeleteOnClose);
            }
            catch (IOException) when (DateTime.UtcNow < deadline)
            {
                await Task.Delay(200);
            }
        }

        await using (lockFile)
        {
            if (!Installed(project))
            {
                await using var npm = Start("npm", ["ci", "--prefix", project, "--no-audit", "--no-fund"], project);
                await npm.WaitForExitAsync(NpmTimeout);
                Assert.True(npm.ExitCode == 0, $"npm ci in {project} failed ({npm.ExitCode}): {npm.Stderr}");
            }
        }

        return project;
    }

    /// <summary>Whether every package tests/node depends on is in its node_modules.</summary>
    private static bool Installed(string project)
        => Packages.All(p => File.Exists(Path.Combine(project, "node_modules", p, "package.json")));

    public static ChildProcess Start(string program, string[] arguments, string workingDirectory)
    {
        try
        {
            return ChildProcess.Start(program, arguments, workingDirectory: workingDirectory);
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            Assert.Fail($"{program} is not installed ({e.Message}); on Debian: apt-get install -y nodejs npm (.ci/run does it)");
            throw;
        }
    }

    /// <summary>The checkout this test binary was built from: the first directory above it holding Herald.slnx.</summary>
    private static string RepositoryRoot()
    {
        for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
        {
            if (File.Exists(Path.Combine(directory.FullName, "Herald.slnx")))
            {
                return directory.FullName;
            }
        }

        throw new InvalidOperationException("no Herald.slnx above " + AppContext.BaseDirectory);
    }
}
