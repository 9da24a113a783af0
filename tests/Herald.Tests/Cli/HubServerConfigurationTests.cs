using Herald.Cli;
using Microsoft.AspNetCore.Server.Kestrel.Transport.Sockets;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Configuration.Json;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

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

    [Fact]
    public async Task The_listen_backlog_asks_for_the_systems_maximum()
    {
        // Kestrel's 512 made a reconnect storm of 10,000 subscribers wait out SYN retransmissions (18 s against 2–4 s).
        await using var app = HubServer.Build([], new Dictionary<string, string?> { ["Herald:Anonymous"] = "true" }, TextWriter.Null);

        Assert.Equal(HubServer.DefaultListenBacklog, app.Services.GetRequiredService<IOptions<SocketTransportOptions>>().Value.Backlog);
        Assert.True(HubServer.DefaultListenBacklog >= 65535, "the default must not sit below a kernel's net.core.somaxconn");
    }

    [Fact]
    public async Task An_operator_sets_the_listen_backlog()
    {
        await using var app = HubServer.Build([], new Dictionary<string, string?> { ["Herald:Anonymous"] = "true", ["Herald:ListenBacklog"] = "1024" }, TextWriter.Null);

        Assert.Equal(1024, app.Services.GetRequiredService<IOptions<SocketTransportOptions>>().Value.Backlog);
    }

    [Theory]
    [InlineData("0")]
    [InlineData("-5")]
    [InlineData("lots")]
    [InlineData("99999999999")]
    public void A_listen_backlog_that_is_not_a_positive_number_is_refused_at_start(string value)
    {
        // herald serve prints the message after "herald: cannot start the hub: " and exits 1 (ServeCommand).
        var error = Assert.Throws<InvalidOperationException>(
            () => HubServer.Build([], new Dictionary<string, string?> { ["Herald:Anonymous"] = "true", ["Herald:ListenBacklog"] = value }, TextWriter.Null));
        Assert.Equal($"Herald:ListenBacklog must be a positive whole number, not '{value}'.", error.Message);
    }
}
