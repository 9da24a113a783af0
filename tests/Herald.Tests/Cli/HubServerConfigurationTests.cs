using Herald.Cli;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Configuration.Json;

namespace Herald.Tests.Cli;

/// <summary>
/// What <c>herald serve</c>'s app reads its configuration from: appsettings once, at start, because a reload watcher on
/// the content root would wake on every commit to a data directory inside it (the default ./herald-data).
/// </summary>
public sealed class HubServerConfigurationTests
{
    [Fact]
    public async Task Appsettings_files_are_read_once_and_not_watched()
    {
        await using var app = HubServer.Build([], new Dictionary<string, string?> { ["Herald:Anonymous"] = "true" }, TextWriter.Null);

        var sources = ((IConfigurationBuilder)app.Configuration).Sources.OfType<JsonConfigurationSource>().ToList();
        Assert.NotEmpty(sources);
        Assert.All(sources, source => Assert.False(source.ReloadOnChange, $"{source.Path} is watched"));
    }

    [Fact]
    public async Task An_operator_can_still_turn_reloading_back_on()
    {
        await using var app = HubServer.Build(["--hostBuilder:reloadConfigOnChange=true"], new Dictionary<string, string?>(), TextWriter.Null);

        var sources = ((IConfigurationBuilder)app.Configuration).Sources.OfType<JsonConfigurationSource>().ToList();
        Assert.NotEmpty(sources);
        Assert.All(sources, source => Assert.True(source.ReloadOnChange));
    }
}
