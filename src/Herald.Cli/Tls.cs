using System.CommandLine;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Microsoft.AspNetCore.Server.Kestrel.Core;

namespace Herald.Cli;

/// <summary>
/// HTTPS for <c>herald serve</c>. The certificate flags become Kestrel's default certificate
/// (<c>Kestrel:Certificates:Default</c>), the same keys appsettings.json and <c>Kestrel__Certificates__Default__…</c>
/// set, so Kestrel loads it for every <c>https://</c> address in <c>--urls</c> and configuration keeps working
/// without the flags. A TLS endpoint speaks HTTP/2 and HTTP/1.1 (ALPN): Kestrel's default protocols,
/// <see cref="HttpProtocols.Http1AndHttp2"/>, which on a cleartext endpoint serve HTTP/1.1 only (no h2c).
/// </summary>
/// <remarks>
/// TLS connections always reach Kestrel's HTTPS layer: Herald's listener and its connection middleware read nothing
/// on a port the server publishes as https:// (DirectHttp/TlsEndpoints), so Kestrel answers whatever comes there —
/// the handshake, a plaintext request (refused), silence (its handshake timeout). Subscriptions over TLS run on
/// Kestrel's HTTP/1.1 or HTTP/2 response path. Serving them on Herald's direct path instead would save little: an
/// idle SslStream alone holds about 38 KB resident on Linux (OpenSSL keeps its record buffers; the runtime offers no
/// way to release them), against about 3 KB for a bare socket and 45–50 KB for a whole TLS subscriber on Kestrel's
/// path (bench/floor, <c>floor idle N tls</c>).
/// </remarks>
internal static class Tls
{
    /// <summary>The environment variable holding the certificate's (or its key's) password.</summary>
    public const string PasswordVariable = "HERALD_CERT_PASSWORD";

    private const string Section = "Kestrel:Certificates:Default";

    /// <summary>The certificate flags of <c>herald serve</c>.</summary>
    internal sealed record Options(Option<string> CertFile, Option<string> KeyFile, Option<string> PasswordFile)
    {
        public IEnumerable<Option> All => [CertFile, KeyFile, PasswordFile];
    }

    public static Options CreateOptions() => new(
        new Option<string>("--cert-file")
        {
            Description = "TLS certificate for the https:// addresses of --urls: PEM (key in --cert-key-file or the same file) or PFX/PKCS#12",
            HelpName = "path",
        },
        new Option<string>("--cert-key-file") { Description = "PEM private key of --cert-file", HelpName = "path" },
        new Option<string>("--cert-password-file")
        {
            // Never a flag holding the password itself: a command line is visible to every user of the machine.
            Description = $"File whose first line is the password of the PFX or encrypted PEM key (or set ${PasswordVariable})",
            HelpName = "path",
        });

    /// <summary>
    /// Puts the certificate flags into <paramref name="settings"/> after checking the certificate loads, so a wrong
    /// path or password is one line before the hub starts. Returns that line, or <c>null</c>.
    /// </summary>
    public static string? Apply(ParseResult parse, Options options, string? urls, IDictionary<string, string?> settings)
    {
        var certFile = parse.GetValue(options.CertFile);
        var keyFile = parse.GetValue(options.KeyFile);
        var passwordFile = parse.GetValue(options.PasswordFile);
        if (string.IsNullOrEmpty(certFile))
        {
            return keyFile is null && passwordFile is null ? null : "--cert-key-file and --cert-password-file need --cert-file";
        }

        urls ??= Environment.GetEnvironmentVariable("ASPNETCORE_URLS");
        if (urls is null || !urls.Contains("https://", StringComparison.OrdinalIgnoreCase))
        {
            return "--cert-file serves the https:// addresses of --urls, and none is given; add e.g. --urls https://0.0.0.0:5443";
        }

        string? password;
        try
        {
            password = passwordFile is not null
                ? File.ReadLines(passwordFile).FirstOrDefault() ?? string.Empty
                : Environment.GetEnvironmentVariable(PasswordVariable);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return $"cannot read --cert-password-file {passwordFile}: {e.Message}";
        }

        var certPath = Path.GetFullPath(certFile);

        // A PEM certificate without a key file carries its key in the same file (Kestrel reads the key from KeyPath).
        var keyPath = keyFile is not null ? Path.GetFullPath(keyFile) : IsPem(certPath) ? certPath : null;
        if (Check(certPath, keyPath, password) is { } problem)
        {
            return problem;
        }

        settings[Section + ":Path"] = certPath;
        if (keyPath is not null)
        {
            settings[Section + ":KeyPath"] = keyPath;
        }

        if (!string.IsNullOrEmpty(password))
        {
            settings[Section + ":Password"] = password;
        }

        return null;
    }

    /// <summary>Kestrel settings for HTTP/2 on the TLS endpoints.</summary>
    public static void Configure(KestrelServerOptions kestrel)
    {
        // A subscription's topic selectors travel in its URL (up to the request line limit over HTTP/1.1); over HTTP/2
        // the URL is one header field, whose default limit (16 KiB) would refuse what HTTP/1.1 accepts.
        kestrel.Limits.Http2.MaxRequestHeaderFieldSize = kestrel.Limits.MaxRequestLineSize;
    }

    private static bool IsPem(string path)
    {
        try
        {
            using var reader = new StreamReader(path);
            var buffer = new char[256];
            var read = reader.ReadBlock(buffer, 0, buffer.Length);
            return new string(buffer, 0, read).Contains("-----BEGIN ", StringComparison.Ordinal);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // Check reports the unreadable file.
            return false;
        }
    }

    /// <summary>Loads the certificate as Kestrel will: the one line to print when it cannot be used, else <c>null</c>.</summary>
    private static string? Check(string certPath, string? keyPath, string? password)
    {
        try
        {
            using var certificate = keyPath is null
                ? X509CertificateLoader.LoadPkcs12FromFile(certPath, password)
                : string.IsNullOrEmpty(password)
                    ? X509Certificate2.CreateFromPemFile(certPath, keyPath)
                    : X509Certificate2.CreateFromEncryptedPemFile(certPath, password, keyPath);
            return certificate.HasPrivateKey ? null : $"the certificate in {certPath} has no private key; give it with --cert-key-file";
        }
        catch (Exception e) when (e is CryptographicException or IOException or UnauthorizedAccessException or ArgumentException)
        {
            // The runtime's message names what failed (a wrong password, no key in the file) and nothing secret.
            return $"cannot use the certificate in {certPath}: {e.Message.Split('\n')[0].Trim()}";
        }
    }
}
