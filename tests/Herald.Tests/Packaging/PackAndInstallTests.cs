using System.IO.Compression;
using System.Net;
using System.Text.RegularExpressions;
using System.Xml.Linq;
using Herald.Tests.Client;
using Herald.Tests.Infrastructure;

namespace Herald.Tests.Packaging;

/// <summary>
/// What a user gets from the packages: the metadata a package page shows, the <c>herald</c> tool installed from the
/// packed folder and serving, and an app built against the packed <c>Herald</c> library serving a subscription.
/// </summary>
public sealed partial class PackAndInstallTests(PackedPackages packages) : IClassFixture<PackedPackages>
{
    private const string Topic = "https://example.com/hello";

    [Fact]
    public void Every_package_carries_its_readme_the_licence_and_symbols()
    {
        foreach (var id in PackedPackages.Libraries.Append(PackedPackages.Tool))
        {
            using var package = ZipFile.OpenRead(packages.PackagePath(id));
            var entries = package.Entries.Select(e => e.FullName).ToHashSet(StringComparer.Ordinal);
            Assert.Contains("README.md", entries);
            Assert.Contains("LICENSE", entries);

            var nuspec = package.Entries.Single(e => e.FullName == id + ".nuspec");
            using var stream = nuspec.Open();
            var metadata = XDocument.Load(stream).Root!.Elements().Single(e => e.Name.LocalName == "metadata");
            string Field(string name) => metadata.Elements().SingleOrDefault(e => e.Name.LocalName == name)?.Value ?? string.Empty;
            Assert.Equal(packages.Version, Field("version"));
            Assert.Equal("MIT", Field("license"));
            Assert.Equal("README.md", Field("readme"));
            Assert.NotEmpty(Field("description"));
            Assert.NotEmpty(Field("tags"));
            Assert.NotEmpty(Field("authors"));

            Assert.True(File.Exists(packages.SymbolPackagePath(id)), $"{id}: no .snupkg beside the .nupkg");
        }
    }

    [Fact]
    public async Task The_tool_installs_from_the_folder_prints_its_version_and_serves()
    {
        var tools = Path.Combine(packages.Root, "tools");
        await Dotnet.RunAsync(
            packages.Root, packages.PackagesFolder,
            "tool", "install", PackedPackages.Tool, "--tool-path", tools, "--add-source", packages.Feed, "--version", packages.Version);
        await AssertRunsAsync(Path.Combine(tools, "herald"), "tool");
    }

    [Fact]
    public async Task The_self_contained_single_file_herald_serves()
    {
        var output = Path.Combine(packages.Root, "single-file");
        await Dotnet.RunAsync(
            packages.Root, packagesFolder: null,
            "publish", Path.Combine(PackedPackages.RepositoryRoot(), "src", PackedPackages.Tool), "-c", "Release", "-o", output,
            "--artifacts-path", packages.Artifacts, "--disable-build-servers", "-p:HeraldSingleFile=true",
            "-p:VersionSuffix=" + packages.Suffix, "-warnaserror");

        // No runtime from the machine: the bundle carries its own. Its native SQLite is extracted under the test's folder.
        await AssertRunsAsync(
            Path.Combine(output, "herald"),
            "single-file",
            new Dictionary<string, string?>
            {
                ["DOTNET_ROOT"] = null,
                ["DOTNET_BUNDLE_EXTRACT_BASE_DIR"] = Path.Combine(packages.Root, "extract"),
            });
    }

    [Fact]
    public async Task An_app_built_against_the_packed_library_serves_a_subscription()
    {
        var app = Path.Combine(packages.Root, "sample");
        Directory.CreateDirectory(app);
        // Empty files stop MSBuild's search upwards: nothing from the temp folder's parents may join the build.
        await File.WriteAllTextAsync(Path.Combine(app, "Directory.Build.props"), "<Project />\n");
        await File.WriteAllTextAsync(Path.Combine(app, "Directory.Build.targets"), "<Project />\n");
        await File.WriteAllTextAsync(Path.Combine(app, "Directory.Packages.props"), "<Project />\n");
        await File.WriteAllTextAsync(Path.Combine(app, "Sample.csproj"), $"""
            <Project Sdk="Microsoft.NET.Sdk.Web">
              <PropertyGroup>
                <TargetFramework>net10.0</TargetFramework>
                <Nullable>enable</Nullable>
                <ImplicitUsings>enable</ImplicitUsings>
                <TreatWarningsAsErrors>true</TreatWarningsAsErrors>
                <RestoreAdditionalProjectSources>{packages.Feed}</RestoreAdditionalProjectSources>
                <!-- Dependencies already in the machine's cache are read from it; nothing is written there. -->
                <RestoreAdditionalProjectFallbackFolders>{MachinePackagesFolder()}</RestoreAdditionalProjectFallbackFolders>
              </PropertyGroup>
              <ItemGroup>
                <PackageReference Include="Herald" Version="[{packages.Version}]" />
              </ItemGroup>
            </Project>
            """);
        await File.WriteAllTextAsync(Path.Combine(app, "Program.cs"), $$"""
            using Herald;

            var builder = WebApplication.CreateBuilder(args);
            builder.Services.AddHerald(o =>
            {
                o.PublisherJwtKey = o.SubscriberJwtKey = "{{TestHub.Key}}";
                o.Anonymous = true;
            });
            var app = builder.Build();
            app.MapHerald();
            app.MapPost("/hello", (IHeraldPublisher publisher) =>
                publisher.PublishAsync(new Update { Topics = ["{{Topic}}"], Data = "hello from the packed library" }));
            app.Lifetime.ApplicationStarted.Register(() => Console.WriteLine("sample at " + app.Urls.First()));
            app.Run();
            """);

        var output = Path.Combine(app, "out");
        await Dotnet.RunAsync(app, packages.PackagesFolder, "build", "-c", "Release", "-o", output, "--disable-build-servers");

        await using var sample = Dotnet.Start(Dotnet.Host(), [Path.Combine(output, "Sample.dll"), "--urls", "http://127.0.0.1:0"], app);
        var baseUrl = (await WaitForLineAsync(sample, SampleUrlPattern())).TrimEnd('/');
        await SubscribeAndReceiveAsync(
            baseUrl + "/.well-known/mercure",
            token: null,
            publish: client => client.PostAsync(baseUrl + "/hello", content: null, configure: null),
            expected: "hello from the packed library");
    }

    /// <summary><c>herald --version</c> prints the packed version; <c>herald serve</c> answers on 127.0.0.1 and delivers an update.</summary>
    private async Task AssertRunsAsync(string herald, string name, IReadOnlyDictionary<string, string?>? environment = null)
    {
        await using (var version = Dotnet.Start(herald, ["--version"], packages.Root, environment))
        {
            await version.WaitForExitAsync(Dotnet.Timeout);
            Assert.Equal(0, version.ExitCode);
            // SemVer build metadata may follow: the commit it was built from, when built from a git checkout.
            Assert.Matches("^" + Regex.Escape(packages.Version) + @"(\+[0-9a-f]{7})?$", version.Stdout.Trim());
        }

        var data = Path.Combine(packages.Root, name + "-data");
        await using var hub = Dotnet.Start(
            herald, ["serve", "--urls", "http://127.0.0.1:0", "--data-dir", data, "--jwt-key", TestHub.Key], packages.Root, environment);
        var hubUrl = await WaitForLineAsync(hub, HubUrlPattern());
        Assert.StartsWith("http://127.0.0.1:", hubUrl, StringComparison.Ordinal);
        await SubscribeAndReceiveAsync(
            hubUrl,
            TestHub.SubscriberToken(Topic),
            publish: client => client.PostAsync(
                hubUrl,
                new FormUrlEncodedContent([new("topic", Topic), new("data", "hello from the " + name + " herald")]),
                request => request.Headers.Authorization = new("Bearer", TestHub.PublisherToken(Topic))),
            expected: "hello from the " + name + " herald");
    }

    /// <summary>Opens a subscription, lets <paramref name="publish"/> publish once its headers are in, and reads the update.</summary>
    private static async Task SubscribeAndReceiveAsync(string hubUrl, string? token, Func<Http, Task<HttpResponseMessage>> publish, string expected)
    {
        using var client = new HttpClient { Timeout = TimeSpan.FromSeconds(60) };
        using var request = new HttpRequestMessage(HttpMethod.Get, hubUrl + "?topic=" + Uri.EscapeDataString(Topic));
        if (token is not null)
        {
            request.Headers.Authorization = new("Bearer", token);
        }

        using var response = await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead).WaitAsync(TimeSpan.FromSeconds(60));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("text/event-stream", response.Content.Headers.ContentType?.MediaType);
        await using var events = await SseReader.OpenAsync(response);

        using var published = await publish(new Http(client)).WaitAsync(TimeSpan.FromSeconds(60));
        Assert.True(published.IsSuccessStatusCode, $"publish answered {(int)published.StatusCode}: {await published.Content.ReadAsStringAsync()}");

        var update = await events.NextAsync(timeoutMs: 60_000);
        Assert.Equal(expected, update?.Data);
    }

    private static async Task<string> WaitForLineAsync(ChildProcess process, Regex pattern)
    {
        while (true)
        {
            var line = await process.NextLineAsync(TimeSpan.FromSeconds(120));
            if (pattern.Match(line) is { Success: true } match)
            {
                return match.Groups[1].Value;
            }
        }
    }

    private static string MachinePackagesFolder()
        => Environment.GetEnvironmentVariable("NUGET_PACKAGES") is { Length: > 0 } folder
            ? folder
            : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".nuget", "packages");

    [GeneratedRegex(@"hub at (http://\S+/\.well-known/mercure)")]
    private static partial Regex HubUrlPattern();

    [GeneratedRegex(@"^sample at (http://\S+)")]
    private static partial Regex SampleUrlPattern();

    /// <summary>A POST with a request hook, for the two publishers above (the hub's form POST, the sample's endpoint).</summary>
    private sealed class Http(HttpClient client)
    {
        public async Task<HttpResponseMessage> PostAsync(string url, HttpContent? content, Action<HttpRequestMessage>? configure)
        {
            var request = new HttpRequestMessage(HttpMethod.Post, url) { Content = content };
            configure?.Invoke(request);
            return await client.SendAsync(request);
        }
    }
}
