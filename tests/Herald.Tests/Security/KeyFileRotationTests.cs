using System.Net;
using System.Security.Cryptography;
using Herald.Security;
using Herald.Tests.Hardening;
using Herald.Tests.Infrastructure;

namespace Herald.Tests.Security;

/// <summary>
/// Issue #16, "Done when": a key file rotated under a running hub. Tokens signed with the old key are refused after the
/// swap (cached ones too), tokens signed with the new one are accepted, and streams opened before stay open and keep
/// receiving. Every way a file gets replaced in practice: written in place, renamed over, and a Kubernetes secret
/// volume's <c>..data</c> link swap.
/// </summary>
public sealed class KeyFileRotationTests
{
    private const string Topic = "https://example.com/rotation";

    private int _minted;

    [Theory]
    [InlineData(Replacement.InPlace)]
    [InlineData(Replacement.RenameOver)]
    [InlineData(Replacement.KubernetesSecret)]
    public async Task A_rotated_key_file_refuses_old_key_tokens_accepts_new_ones_and_leaves_open_streams_open(Replacement replacement)
    {
        using var keys = new KeyDirectory(replacement);
        keys.Write(("publisher.key", "old-publisher-secret-0123456789-0123456789\n"), ("subscriber.key", "old-subscriber-secret-0123456789-012345678\n"));
        await using var hub = await KestrelOnlyHub.StartAsync(new Dictionary<string, string?>
        {
            ["Herald:PublisherJwtKey"] = null,
            ["Herald:SubscriberJwtKey"] = null,
            ["Herald:PublisherJwtKeyFile"] = keys.PathOf("publisher.key"),
            ["Herald:SubscriberJwtKeyFile"] = keys.PathOf("subscriber.key"),
        });

        // The trailing line break is not part of the key.
        var oldPublisher = Publisher("old-publisher-secret-0123456789-0123456789");
        await using var stream = await SubscribeAsync(hub, Subscriber("old-subscriber-secret-0123456789-012345678"));
        Assert.Equal(HttpStatusCode.OK, await PublishAsync(hub, oldPublisher, "before"));
        Assert.Equal("before", (await stream.NextAsync())?.Data);

        keys.Write(("publisher.key", "new-publisher-secret-0123456789-0123456789\n"), ("subscriber.key", "new-subscriber-secret-0123456789-012345678\n"));
        var newPublisher = Publisher("new-publisher-secret-0123456789-0123456789");

        // The old token was validated and cached before the swap: the same string must be refused after it.
        await EventuallyAsync(async () => await PublishAsync(hub, oldPublisher, "old key") == HttpStatusCode.Unauthorized, "the old publisher key refused");
        await EventuallyAsync(async () => await PublishAsync(hub, newPublisher, "after") == HttpStatusCode.OK, "the new publisher key accepted");
        await EventuallyAsync(async () => await SubscribeStatusAsync(hub, Subscriber("new-subscriber-secret-0123456789-012345678")) == HttpStatusCode.OK, "the new subscriber key accepted");
        Assert.Equal(HttpStatusCode.Unauthorized, await SubscribeStatusAsync(hub, Subscriber("old-subscriber-secret-0123456789-012345678")));

        // The stream opened with the old key is still open and receives what the new key published (after whatever the old
        // key published while the swap was on its way).
        await ReceiveAsync(stream, "after");

        var log = string.Join('\n', hub.Log.Entries.Select(e => e.Message));
        Assert.Contains("tokens signed with the previous key are refused from now on", log, StringComparison.Ordinal);
        Assert.DoesNotContain("secret-0123456789", log, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_half_written_or_empty_key_file_keeps_the_key_in_use_and_is_logged_once_without_the_key()
    {
        using var oldKey = RSA.Create(2048);
        using var newKey = RSA.Create(2048);
        // Renamed into place, so the hub reads each content whole, as written: the half-written one included.
        using var keys = new KeyDirectory(Replacement.RenameOver);
        keys.Write(("publisher.pem", oldKey.ExportSubjectPublicKeyInfoPem()));
        await using var hub = await KestrelOnlyHub.StartAsync(new Dictionary<string, string?>
        {
            ["Herald:PublisherJwtKey"] = null,
            ["Herald:PublisherJwtKeyFile"] = keys.PathOf("publisher.pem"),
            ["Herald:PublisherJwtAlgorithm"] = "RS256",
        });
        Assert.Equal(HttpStatusCode.OK, await PublishAsync(hub, Fresh(oldKey), "before"));

        // A PEM cut off half way, as a reader may find it while a writer is still at it.
        var pem = newKey.ExportSubjectPublicKeyInfoPem();
        keys.Write(("publisher.pem", pem[..(pem.Length / 2)]));
        await TestHub.Eventually(() => Rejections(hub) == 1, "the half-written file reported");

        // A fresh token (not one the cache remembers) still verifies with the old key.
        Assert.Equal(HttpStatusCode.OK, await PublishAsync(hub, Fresh(oldKey), "still old"));
        Assert.Equal(HttpStatusCode.Unauthorized, await PublishAsync(hub, Fresh(newKey), "not yet new"));

        keys.Write(("publisher.pem", string.Empty));
        await TestHub.Eventually(() => Rejections(hub) == 2, "the emptied file reported");
        Assert.Equal(HttpStatusCode.OK, await PublishAsync(hub, Fresh(oldKey), "still old"));

        keys.Write(("publisher.pem", pem));
        await EventuallyAsync(
            async () => await PublishAsync(hub, Fresh(newKey), "new") == HttpStatusCode.OK,
            "the whole new key accepted");
        Assert.Equal(HttpStatusCode.Unauthorized, await PublishAsync(hub, Fresh(oldKey), "old"));

        // One line per bad content, not one per poll; never the key.
        Assert.Equal(2, Rejections(hub));
        var log = string.Join('\n', hub.Log.Entries.Select(e => e.Message));
        Assert.DoesNotContain(pem.Split('\n')[1], log, StringComparison.Ordinal);
    }

    [Fact]
    public async Task After_a_reload_the_hubs_own_issuer_verifies_1_0_tokens_with_the_new_key_as_0_x_tokens_are()
    {
        using var keys = new KeyDirectory(Replacement.RenameOver);
        keys.Write(("hub.key", "old-hub-secret-0123456789-0123456789-0123"));
        using var validator = TestTokens.Validator(o =>
        {
            o.PublisherJwtKeyFile = keys.PathOf("hub.key");
            o.Issuer = AccessTokens.Issuer;
        });
        string AccessToken(string key) => AccessTokens.Hs256(key, AccessTokens.Claims(aud: "\"" + TestTokens.HubUrl + "\""));
        string LegacyToken(string key) => TestTokens.Hs256(key, TestTokens.Payload("""{"publish":["*"]}"""));
        Assert.NotNull((await validator.ValidateAsync(AccessToken("old-hub-secret-0123456789-0123456789-0123"))).Claims);
        Assert.NotNull((await validator.ValidateAsync(LegacyToken("old-hub-secret-0123456789-0123456789-0123"))).Claims);

        keys.Write(("hub.key", "new-hub-secret-0123456789-0123456789-0123"));
        await EventuallyAsync(
            async () => (await validator.ValidateAsync(AccessToken("new-hub-secret-0123456789-0123456789-0123"))).Claims is not null,
            "a 1.0 token of the hub's issuer signed with the new key accepted");

        Assert.NotNull((await validator.ValidateAsync(LegacyToken("new-hub-secret-0123456789-0123456789-0123"))).Claims);
        Assert.Equal("token signature invalid", (await validator.ValidateAsync(AccessToken("old-hub-secret-0123456789-0123456789-0123"))).Error);
        Assert.Equal("token signature invalid", (await validator.ValidateAsync(LegacyToken("old-hub-secret-0123456789-0123456789-0123"))).Error);
    }

    [Fact]
    public async Task A_trusted_issuers_key_file_is_reloaded_too()
    {
        using var keys = new KeyDirectory(Replacement.RenameOver);
        keys.Write(("issuer.key", "old-issuer-secret-0123456789-0123456789-01"));
        using var validator = TestTokens.Validator(o => o.Issuers.Add(new TrustedIssuer
        {
            Id = AccessTokens.OtherIssuer,
            Publisher = { JwtKeyFile = keys.PathOf("issuer.key") },
        }));
        string AccessToken(string key) => AccessTokens.Hs256(key, AccessTokens.Claims(iss: AccessTokens.OtherIssuer, aud: "\"" + TestTokens.HubUrl + "\""));
        Assert.NotNull((await validator.ValidateAsync(AccessToken("old-issuer-secret-0123456789-0123456789-01"))).Claims);

        keys.Write(("issuer.key", "new-issuer-secret-0123456789-0123456789-01"));
        await EventuallyAsync(
            async () => (await validator.ValidateAsync(AccessToken("new-issuer-secret-0123456789-0123456789-01"))).Claims is not null,
            "the issuer's new key accepted");
        Assert.Equal("token signature invalid", (await validator.ValidateAsync(AccessToken("old-issuer-secret-0123456789-0123456789-01"))).Error);
    }

    [Fact]
    public void A_key_and_a_key_file_for_one_role_or_a_file_without_a_key_stop_the_hub_at_startup_naming_the_setting()
    {
        using var keys = new KeyDirectory(Replacement.InPlace);
        keys.Write(("hub.key", "a-hub-secret-0123456789-0123456789-012345"), ("empty.key", "\n"));

        var both = Assert.Throws<InvalidOperationException>(() => TestTokens.Validator(o =>
        {
            o.SubscriberJwtKey = "another-secret-0123456789-0123456789-0123";
            o.SubscriberJwtKeyFile = keys.PathOf("hub.key");
        }));
        Assert.Equal(
            "Herald:SubscriberJwtKey and Herald:SubscriberJwtKeyFile are both set: set only one (the file keeps the key off command lines and is reloaded when it changes).",
            both.Message);

        var missing = Assert.Throws<InvalidOperationException>(() => TestTokens.Validator(o => o.PublisherJwtKeyFile = keys.PathOf("absent.key")));
        Assert.Equal($"Herald:PublisherJwtKeyFile: cannot use {keys.PathOf("absent.key")}: it does not exist.", missing.Message);

        var empty = Assert.Throws<InvalidOperationException>(() => TestTokens.Validator(o => o.PublisherJwtKeyFile = keys.PathOf("empty.key")));
        Assert.EndsWith("it is empty.", empty.Message, StringComparison.Ordinal);

        var notPem = Assert.Throws<InvalidOperationException>(() => TestTokens.Validator(o =>
        {
            o.PublisherJwtKeyFile = keys.PathOf("hub.key");
            o.PublisherJwtAlgorithm = "RS256";
        }));
        Assert.StartsWith("Herald:PublisherJwtKeyFile must be a PEM RSA public key", notPem.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("a-hub-secret", notPem.Message, StringComparison.Ordinal);
    }

    /// <summary>How a deployment puts a new key in place.</summary>
    public enum Replacement
    {
        /// <summary>The file truncated and written again (<c>echo new &gt; key</c>).</summary>
        InPlace,

        /// <summary>Another file written, then renamed over the key (<c>mv</c>, most editors, configuration tools).</summary>
        RenameOver,

        /// <summary>
        /// A Kubernetes secret volume: <c>key</c> links to <c>..data/key</c>, <c>..data</c> links to a timestamped
        /// directory, and an update writes a new directory and renames a new <c>..data</c> link over the old one.
        /// </summary>
        KubernetesSecret,
    }

    /// <summary>An RS256 publisher token no other call returns (RS256 signatures are deterministic), so no cache knows it.</summary>
    private string Fresh(RSA key) => TestTokens.Rs256(key, TestTokens.Payload("""{"publish":["*"]}""", exp: TestTokens.Now + 3600 + Interlocked.Increment(ref _minted)));

    private static int Rejections(KestrelOnlyHub hub) => hub.Log.Entries.Count(e => e.Message.Contains("was not loaded", StringComparison.Ordinal));

    private static string Publisher(string key) => TokenIssuer.Create(key, publish: ["*"], subscribe: null, TimeSpan.FromHours(1));

    private static string Subscriber(string key) => TokenIssuer.Create(key, publish: null, subscribe: ["*"], TimeSpan.FromHours(1));

    private static async Task<HttpStatusCode> PublishAsync(KestrelOnlyHub hub, string token, string data)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, hub.HubUrl) { Content = new FormUrlEncodedContent([new("topic", Topic), new("data", data)]) };
        request.Headers.Authorization = new("Bearer", token);
        using var response = await hub.Client.SendAsync(request).WaitAsync(TimeSpan.FromSeconds(30));
        return response.StatusCode;
    }

    private static async Task<SseReader> SubscribeAsync(KestrelOnlyHub hub, string token)
    {
        var request = new HttpRequestMessage(HttpMethod.Get, hub.HubUrl + "?topic=" + Uri.EscapeDataString(Topic));
        request.Headers.Authorization = new("Bearer", token);
        var response = await hub.Client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead).WaitAsync(TimeSpan.FromSeconds(30));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return await SseReader.OpenAsync(response);
    }

    private static async Task<HttpStatusCode> SubscribeStatusAsync(KestrelOnlyHub hub, string token)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, hub.HubUrl + "?topic=" + Uri.EscapeDataString(Topic));
        request.Headers.Authorization = new("Bearer", token);
        using var response = await hub.Client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead).WaitAsync(TimeSpan.FromSeconds(30));
        return response.StatusCode;
    }

    /// <summary>Reads the stream until <paramref name="data"/> arrives; the stream ending first fails the test.</summary>
    internal static async Task ReceiveAsync(SseReader stream, string data)
    {
        var deadline = Environment.TickCount64 + 30_000;
        while (Environment.TickCount64 < deadline)
        {
            var next = await stream.NextAsync();
            Assert.True(next is not null, "the stream opened before the swap ended");
            if (next.Value.Data == data)
            {
                return;
            }
        }

        Assert.Fail($"'{data}' did not arrive on the stream opened before the swap");
    }

    internal static async Task EventuallyAsync(Func<Task<bool>> condition, string what)
    {
        var deadline = Environment.TickCount64 + 30_000;
        while (!await condition())
        {
            if (Environment.TickCount64 > deadline)
            {
                Assert.Fail("timed out waiting for " + what);
            }

            await Task.Delay(50);
        }
    }

    /// <summary>A directory of key files, replaced the way <see cref="Replacement"/> says.</summary>
    internal sealed class KeyDirectory : IDisposable
    {
        private readonly Replacement _replacement;
        private int _version;

        public KeyDirectory(Replacement replacement)
        {
            _replacement = replacement;
            Root = Path.Combine(Path.GetTempPath(), "herald-tests", Guid.NewGuid().ToString("N"));
            Directory.CreateDirectory(Root);
        }

        public string Root { get; }

        public string PathOf(string name) => Path.Combine(Root, name);

        /// <summary>Puts these files in place, all at once for a Kubernetes secret, one after the other otherwise.</summary>
        public void Write(params (string Name, string Content)[] files)
        {
            _version++;
            switch (_replacement)
            {
                case Replacement.InPlace:
                    foreach (var (name, content) in files)
                    {
                        File.WriteAllText(PathOf(name), content);
                    }

                    break;
                case Replacement.RenameOver:
                    foreach (var (name, content) in files)
                    {
                        var staging = PathOf($".{name}.{_version}.tmp");
                        File.WriteAllText(staging, content);
                        File.Move(staging, PathOf(name), overwrite: true);
                    }

                    break;
                default:
                    // What the kubelet does (AtomicWriter): a new timestamped directory, a new ..data link to it renamed
                    // over the old one, the user-visible names linking through ..data, the old directory removed.
                    var data = PathOf($"..2026_12_07_{_version:D2}");
                    Directory.CreateDirectory(data);
                    foreach (var (name, content) in files)
                    {
                        File.WriteAllText(Path.Combine(data, name), content);
                    }

                    var link = PathOf("..data_tmp");
                    File.CreateSymbolicLink(link, Path.GetFileName(data));
                    var previous = Directory.Exists(PathOf("..data")) ? new DirectoryInfo(PathOf("..data")).LinkTarget : null;
                    Rename(link, PathOf("..data"));
                    foreach (var (name, _) in files)
                    {
                        if (!File.Exists(PathOf(name)))
                        {
                            File.CreateSymbolicLink(PathOf(name), Path.Combine("..data", name));
                        }
                    }

                    if (previous is not null)
                    {
                        Directory.Delete(PathOf(previous), recursive: true);
                    }

                    break;
            }
        }

        public void Dispose()
        {
            try
            {
                Directory.Delete(Root, recursive: true);
            }
            catch (IOException)
            {
                // A temporary directory: nothing depends on it going now.
            }
        }

        /// <summary>rename(2): replaces the link <paramref name="to"/> itself, as the kubelet does (File.Move would follow it).</summary>
        private static void Rename(string from, string to)
        {
            if (RenameNative(from, to) != 0)
            {
                throw new IOException($"rename {from} -> {to} failed: errno {System.Runtime.InteropServices.Marshal.GetLastPInvokeError()}");
            }
        }

        [System.Runtime.InteropServices.DllImport("libc", EntryPoint = "rename", SetLastError = true)]
        private static extern int RenameNative(string from, string to);
    }
}
