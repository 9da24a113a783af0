using System.Net;
using Herald.Security;
using Herald.Tests.Infrastructure;
using static Herald.Tests.Security.KeyFileRotationTests;

namespace Herald.Tests.Security;

/// <summary>
/// The key-file flags and the startup token of a real <c>herald serve</c> process: keys read from files named on the
/// command line (never the keys themselves), reloaded under a running hub whose streams are served on their sockets;
/// and the token minted on a generated key, written to a file only its user reads instead of the log.
/// </summary>
public sealed class KeyFileServeTests
{
    private const string Topic = "https://example.com/rotation";

    [Fact]
    public async Task Serve_reads_keys_from_files_and_a_key_renamed_over_its_file_takes_over_without_a_restart()
    {
        using var keys = new KeyDirectory(Replacement.RenameOver);
        keys.Write(("publisher.key", "old-publisher-secret-0123456789-0123456789\n"), ("subscriber.key", "old-subscriber-secret-0123456789-012345678\n"));
        await using var hub = await HubProcess.StartAsync(
            NewDirectory(), withKey: false, "--publisher-jwt-key-file", keys.PathOf("publisher.key"), "--subscriber-jwt-key-file", keys.PathOf("subscriber.key"));
        using var client = new HttpClient { Timeout = TimeSpan.FromSeconds(30) };

        var oldPublisher = TokenIssuer.Create("old-publisher-secret-0123456789-0123456789", ["*"], null, TimeSpan.FromHours(1));
        var subscriber = TokenIssuer.Create("old-subscriber-secret-0123456789-012345678", null, ["*"], TimeSpan.FromHours(1));
        using var subscribe = new HttpRequestMessage(HttpMethod.Get, hub.HubUrl + "?topic=" + Uri.EscapeDataString(Topic));
        subscribe.Headers.Authorization = new("Bearer", subscriber);
        var response = await client.SendAsync(subscribe, HttpCompletionOption.ResponseHeadersRead).WaitAsync(TimeSpan.FromSeconds(30));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        await using var stream = await SseReader.OpenAsync(response);
        Assert.Equal(HttpStatusCode.OK, await PublishAsync(client, hub, oldPublisher, "before"));
        Assert.Equal("before", (await stream.NextAsync())?.Data);

        keys.Write(("publisher.key", "new-publisher-secret-0123456789-0123456789\n"));
        var newPublisher = TokenIssuer.Create("new-publisher-secret-0123456789-0123456789", ["*"], null, TimeSpan.FromHours(1));
        await EventuallyAsync(async () => await PublishAsync(client, hub, oldPublisher, "old key") == HttpStatusCode.Unauthorized, "the old publisher key refused");
        Assert.Equal(HttpStatusCode.OK, await PublishAsync(client, hub, newPublisher, "after"));
        await ReceiveAsync(stream, "after");

        Assert.Contains(hub.Output, line => line.Contains("tokens signed with the previous key are refused", StringComparison.Ordinal));
        Assert.DoesNotContain(hub.Output, line => line.Contains("secret-0123456789", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_key_given_twice_or_a_key_file_that_is_not_there_stops_serve_with_one_line()
    {
        var dataDir = NewDirectory();
        var file = Path.Combine(dataDir, "hub.key");
        await File.WriteAllTextAsync(file, "a-hub-secret-0123456789-0123456789-012345");

        // FailToStartAsync passes --jwt-key too.
        var (twice, twiceError) = await HubProcess.FailToStartAsync(dataDir, "--jwt-key-file", file);
        Assert.Equal(2, twice);
        Assert.Equal("herald: --jwt-key and --jwt-key-file both give the key; pass one (the file keeps it off the command line)", twiceError.Trim());

        // A role's own file replaces the shared --jwt-key for that role, and must hold a key.
        var absent = Path.Combine(dataDir, "absent.key");
        var (missing, missingError) = await HubProcess.FailToStartAsync(dataDir, "--publisher-jwt-key-file", absent);
        Assert.Equal(1, missing);
        Assert.Equal($"herald: cannot start the hub: Herald:PublisherJwtKeyFile: cannot use {absent}: it does not exist.", missingError.Trim());
    }

    [Fact]
    public async Task Print_token_prints_the_startup_token_that_is_also_in_the_file()
    {
        var dataDir = NewDirectory();
        await using var hub = await HubProcess.StartAsync(dataDir, withKey: false, "--print-token");
        var (_, token) = await hub.StartupTokenAsync();
        await TestHub.Eventually(() => hub.Output.Contains(token), "the printed token");
        using var client = new HttpClient { Timeout = TimeSpan.FromSeconds(30) };
        Assert.Equal(HttpStatusCode.OK, await PublishAsync(client, hub, token, "printed"));
    }

    [Fact]
    public async Task Without_a_data_directory_the_startup_token_is_in_a_private_temporary_directory_removed_when_the_hub_stops()
    {
        await using var hub = await HubProcess.StartAsync(string.Empty, withKey: false);
        var (path, token) = await hub.StartupTokenAsync();
        Assert.Equal(StartupTokenFileName, Path.GetFileName(path));
        Assert.DoesNotContain(hub.Output, line => line.Contains(token, StringComparison.Ordinal));
        if (!OperatingSystem.IsWindows())
        {
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(path));
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute, File.GetUnixFileMode(Path.GetDirectoryName(path)!));
        }

        using (var client = new HttpClient { Timeout = TimeSpan.FromSeconds(30) })
        {
            Assert.Equal(HttpStatusCode.OK, await PublishAsync(client, hub, token, "from the temporary file"));
        }

        // The key died with the process; so does the only copy of a token signed with it.
        await hub.TerminateAsync();
        Assert.False(Directory.Exists(Path.GetDirectoryName(path)));
        Assert.DoesNotContain(token, await hub.StandardErrorAsync(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_generated_key_file_left_readable_by_others_is_made_readable_by_its_owner_only()
    {
        var dataDir = NewDirectory();
        var keyFile = Path.Combine(dataDir, "jwt.key");
        await File.WriteAllTextAsync(keyFile, "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef");
        if (OperatingSystem.IsWindows())
        {
            return;
        }

        File.SetUnixFileMode(keyFile, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead);
        await using var hub = await HubProcess.StartAsync(dataDir, withKey: false);
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(keyFile));
        Assert.Contains($"herald: {keyFile} was readable by others; made it readable by you only.", hub.Output);

        // The token in the file is signed with that key.
        var (_, token) = await hub.StartupTokenAsync();
        using var validator = TestTokens.Validator(o => o.PublisherJwtKey = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef");
        Assert.NotNull((await validator.ValidateAsync(token)).Claims);
    }

    private const string StartupTokenFileName = Herald.Cli.Commands.StartupTokenFile.FileName;

    private static async Task<HttpStatusCode> PublishAsync(HttpClient client, HubProcess hub, string token, string data)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, hub.HubUrl) { Content = new FormUrlEncodedContent([new("topic", Topic), new("data", data)]) };
        request.Headers.Authorization = new("Bearer", token);
        using var response = await client.SendAsync(request).WaitAsync(TimeSpan.FromSeconds(30));
        return response.StatusCode;
    }

    private static string NewDirectory()
    {
        var directory = Path.Combine(Path.GetTempPath(), "herald-tests", Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(directory);
        return directory;
    }
}
