using System.Xml.Linq;

namespace Herald.Tests.Packaging;

/// <summary>
/// <c>dotnet pack</c> of the four packages (Herald, Herald.Client, Herald.Redis, the herald tool) into a folder of
/// their own, once for the test class. The build goes to its own artifacts folder, so the checkout's bin/ and obj/
/// are untouched, and the packages carry a pre-release version no registry holds (the release number from
/// Directory.Build.props with a unique suffix): a restore can then only find them in that folder.
/// </summary>
public sealed class PackedPackages : IAsyncLifetime
{
    public static readonly string[] Libraries = ["Herald", "Herald.Client", "Herald.Redis"];

    public const string Tool = "Herald.Cli";

    /// <summary>Everything the test writes: the feed, the build, installs, the NuGet package folder.</summary>
    public string Root { get; } = Path.Combine(Path.GetTempPath(), "herald-pack-" + Guid.NewGuid().ToString("N")[..12]);

    /// <summary>The folder the packages were packed into, used as a package source.</summary>
    public string Feed => Path.Combine(Root, "feed");

    /// <summary>A NuGet package folder of the test's own: what is restored or installed from <see cref="Feed"/> lands here.</summary>
    public string PackagesFolder => Path.Combine(Root, "packages");

    /// <summary>The release number, as Directory.Build.props says it (VersionPrefix).</summary>
    public string Release { get; private set; } = string.Empty;

    /// <summary>The build folder of the pack; a later publish of the same projects with the same suffix reuses its builds.</summary>
    public string Artifacts => Path.Combine(Root, "artifacts");

    /// <summary>The pre-release suffix of <see cref="Version"/>.</summary>
    public string Suffix { get; private set; } = string.Empty;

    /// <summary>The packages' version: <see cref="Release"/> with a pre-release suffix unique to this run.</summary>
    public string Version { get; private set; } = string.Empty;

    public static string RepositoryRoot()
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

    public async Task InitializeAsync()
    {
        var repository = RepositoryRoot();
        Release = XDocument.Load(Path.Combine(repository, "Directory.Build.props")).Descendants("VersionPrefix").Single().Value;
        var suffix = Suffix = "packtest." + DateTime.UtcNow.ToString("yyyyMMddHHmmss", System.Globalization.CultureInfo.InvariantCulture);
        Version = Release + "-" + suffix;
        Directory.CreateDirectory(Feed);

        // One pack of a list of the four projects: one restore and one build graph instead of four.
        var solution = Path.Combine(Root, "packages.slnx");
        await File.WriteAllTextAsync(
            solution,
            "<Solution>\n"
            + string.Concat(Libraries.Append(Tool).Select(p => $"  <Project Path=\"{Path.Combine(repository, "src", p, p + ".csproj")}\" />\n"))
            + "</Solution>\n");
        await Dotnet.RunAsync(
            Root,
            packagesFolder: null, // the dependencies restore as in any build, from the machine's cache
            "pack", solution, "-c", "Release", "-o", Feed, "--artifacts-path", Artifacts,
            "--disable-build-servers", "-p:VersionSuffix=" + suffix, "-warnaserror");
    }

    public string PackagePath(string id) => Path.Combine(Feed, $"{id}.{Version}.nupkg");

    public string SymbolPackagePath(string id) => Path.Combine(Feed, $"{id}.{Version}.snupkg");

    public Task DisposeAsync()
    {
        try
        {
            Directory.Delete(Root, recursive: true);
        }
        catch (IOException)
        {
            // A process the test started may still hold a file for a moment; the temp folder is cleaned by the OS.
        }
        catch (UnauthorizedAccessException)
        {
            // Same.
        }

        return Task.CompletedTask;
    }
}
