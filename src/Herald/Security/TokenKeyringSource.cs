using System.Security.Cryptography;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Herald.Security;

/// <summary>
/// Where the validator gets its keys (<see cref="Current"/>): built from the settings at startup, and built again when a
/// key file (<see cref="HeraldOptions.PublisherJwtKeyFile"/>, <see cref="HeraldOptions.SubscriberJwtKeyFile"/>,
/// <see cref="TrustedIssuerKeys.JwtKeyFile"/>) changes.
/// </summary>
/// <remarks>
/// <para>
/// A reload builds a whole new <see cref="TokenKeyring"/> and swaps it in with one write: the hub-wide keys, the trusted
/// issuers rebuilt around them (the hub's own issuer verifies with the same new key as 0.x tokens), and an empty token
/// cache, so a token cached under the old key is verified again and refused. Requests read the keyring without a lock;
/// only reloads take <see cref="_reloading"/>. Streams already open are not touched: they were authorized when they
/// opened, and their token's expiry still ends them.
/// </para>
/// <para>
/// A file that holds no key (missing, empty, a PEM cut short, more than 64 KiB) is not loaded and is logged once, never
/// quoted; the previous key stays. Keys not from files, and JWKS caches with what they fetched, are carried over as they
/// are. Keys replaced are left to the garbage collector rather than disposed: a validation that began before the swap
/// may still be using them.
/// </para>
/// </remarks>
internal sealed class TokenKeyringSource : IDisposable
{
    /// <summary>Builds one role's keys: (key setting, key, algorithm setting, algorithm, JWKS setting, JWKS URL).</summary>
    public delegate TokenKeys? KeysFactory(string keySetting, string? key, string algorithmSetting, string? algorithm, string jwksSetting, string? jwksUrl);

    private readonly HeraldOptions _options;
    private readonly KeysFactory _create;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly Dictionary<string, KeySlot> _slots = new(StringComparer.Ordinal);
    private readonly Lock _reloading = new();
    private readonly KeyFileWatcher? _watcher;
    private TokenKeyring _current;

    /// <summary>Builds the keys; configuration errors (a key and a key file for one role, a file without a key) throw, naming the setting.</summary>
    public TokenKeyringSource(HeraldOptions options, KeysFactory create, TimeProvider time, ILogger logger)
    {
        _options = options;
        _create = create;
        _time = time;
        _logger = logger;
        _current = Build(logger);
        var files = _slots.Values.Where(slot => slot.File is not null).Select(slot => slot.File!).Distinct(StringComparer.Ordinal).ToList();
        if (files.Count > 0)
        {
            _watcher = new KeyFileWatcher(files, Reload, logger);
        }
    }

    /// <summary>The keys in use now. Read once per validation, so one validation uses one keyring throughout.</summary>
    public TokenKeyring Current => Volatile.Read(ref _current);

    public void Dispose() => _watcher?.Dispose();

    /// <summary>Reads every key file again and swaps in a new keyring when one of them holds a new key.</summary>
    private void Reload()
    {
        lock (_reloading)
        {
            var changed = new List<KeySlot>();
            foreach (var slot in _slots.Values)
            {
                if (slot.File is null)
                {
                    continue;
                }

                if (!KeyFile.TryRead(slot.File, out var text, out var reason))
                {
                    Reject(slot, "\0" + reason, reason);
                    continue;
                }

                if (string.Equals(text, slot.Text, StringComparison.Ordinal))
                {
                    slot.Rejected = null;
                    continue;
                }

                try
                {
                    slot.Keys = slot.Keys!.WithStaticKey(slot.Stem + "JwtKeyFile", text, slot.Stem + "JwtAlgorithm", slot.Algorithm);
                }
                catch (Exception e) when (e is InvalidOperationException or CryptographicException or ArgumentException)
                {
                    Reject(slot, text, e is InvalidOperationException ? e.Message.Split('\n')[0] : "it does not hold a key the algorithm can use");
                    continue;
                }

                slot.Text = text;
                slot.Rejected = null;
                changed.Add(slot);
            }

            if (changed.Count == 0)
            {
                return;
            }

            // The advice TrustedIssuers logs was given at startup; the structure it judged has not changed.
            Volatile.Write(ref _current, Build(NullLogger.Instance));
            foreach (var slot in changed)
            {
                SecurityLog.KeyFileReloaded(_logger, slot.File!, Setting(slot.Stem + "JwtKeyFile"));
            }
        }
    }

    /// <summary>Logs a file that was not loaded, once per content (or failure) so the poll does not repeat it.</summary>
    private void Reject(KeySlot slot, string what, string reason)
    {
        if (!string.Equals(slot.Rejected, what, StringComparison.Ordinal))
        {
            slot.Rejected = what;
            SecurityLog.KeyFileRejected(_logger, slot.File!, Setting(slot.Stem + "JwtKeyFile"), reason);
        }
    }

    private TokenKeyring Build(ILogger logger)
    {
        var o = _options;
        var publisher = KeysFor("Publisher", new TrustedIssuerKeys
        {
            JwtKey = o.PublisherJwtKey, JwtKeyFile = o.PublisherJwtKeyFile, JwtAlgorithm = o.PublisherJwtAlgorithm, JwksUrl = o.PublisherJwksUrl,
        });
        var subscriber = KeysFor("Subscriber", new TrustedIssuerKeys
        {
            JwtKey = o.SubscriberJwtKey, JwtKeyFile = o.SubscriberJwtKeyFile, JwtAlgorithm = o.SubscriberJwtAlgorithm, JwksUrl = o.SubscriberJwksUrl,
        });
        var issuers = new TrustedIssuers(o, (publisher, subscriber), KeysFor, logger);
        return new TokenKeyring(publisher, subscriber, issuers, new TokenCache(_time));
    }

    /// <summary>
    /// One role's keys, <paramref name="stem"/> naming its settings (<c>Publisher</c>, <c>Issuers:0:Subscriber:</c>). The
    /// first build creates them; later builds (after a key file changed) return them as they are now.
    /// </summary>
    private TokenKeys? KeysFor(string stem, TrustedIssuerKeys settings)
    {
        if (_slots.TryGetValue(stem, out var known))
        {
            return known.Keys;
        }

        var key = settings.JwtKey;
        string? file = null;
        if (!string.IsNullOrWhiteSpace(settings.JwtKeyFile))
        {
            if (!string.IsNullOrEmpty(key))
            {
                throw new InvalidOperationException(
                    $"{Setting(stem + "JwtKey")} and {Setting(stem + "JwtKeyFile")} are both set: set only one (the file keeps the key off command lines and is reloaded when it changes).");
            }

            file = Path.GetFullPath(settings.JwtKeyFile);
            if (!KeyFile.TryRead(file, out key, out var reason))
            {
                throw new InvalidOperationException($"{Setting(stem + "JwtKeyFile")}: cannot use {file}: {reason}.");
            }
        }

        var keys = _create(
            stem + (file is null ? "JwtKey" : "JwtKeyFile"), key, stem + "JwtAlgorithm", settings.JwtAlgorithm, stem + "JwksUrl", settings.JwksUrl);
        _slots[stem] = new KeySlot(stem, file, settings.JwtAlgorithm) { Text = key, Keys = keys };
        return keys;
    }

    private static string Setting(string name) => HeraldOptions.SectionName + ":" + name;

    /// <summary>One role's key settings and the keys built from them; only reloads (under the lock) change it.</summary>
    private sealed class KeySlot(string stem, string? file, string? algorithm)
    {
        public string Stem { get; } = stem;

        /// <summary>The key file, as a full path; <c>null</c> when the key is not from a file.</summary>
        public string? File { get; } = file;

        public string? Algorithm { get; } = algorithm;

        /// <summary>The key the keys were built from.</summary>
        public string? Text { get; set; }

        public TokenKeys? Keys { get; set; }

        /// <summary>What was last refused and logged (a file's content, or a read failure), so it is logged once.</summary>
        public string? Rejected { get; set; }
    }
}
