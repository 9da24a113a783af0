using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Herald.Tests.Cli;

/// <summary>
/// A self-signed server certificate for 127.0.0.1 and localhost, made in the test (nothing checked in), written
/// as PEM certificate and key files and as a password-protected PFX in a directory of its own.
/// </summary>
internal sealed class HttpsCertificate : IDisposable
{
    public const string PfxPassword = "pfx-password-for-tests";

    private HttpsCertificate(X509Certificate2 certificate, string directory)
    {
        Certificate = certificate;
        Directory = directory;
    }

    public X509Certificate2 Certificate { get; }

    public string Directory { get; }

    public string CertPemPath => Path.Combine(Directory, "cert.pem");

    public string KeyPemPath => Path.Combine(Directory, "key.pem");

    public string PfxPath => Path.Combine(Directory, "cert.pfx");

    public static HttpsCertificate Create()
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest("CN=localhost", key, HashAlgorithmName.SHA256);
        var names = new SubjectAlternativeNameBuilder();
        names.AddIpAddress(IPAddress.Loopback);
        names.AddDnsName("localhost");
        request.CertificateExtensions.Add(names.Build());
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.1")], critical: false));
        var now = DateTimeOffset.UtcNow;
        var certificate = request.CreateSelfSigned(now.AddDays(-1), now.AddDays(7));

        var directory = Path.Combine(Path.GetTempPath(), "herald-tests", "tls-" + Guid.NewGuid().ToString("N"));
        System.IO.Directory.CreateDirectory(directory);
        var made = new HttpsCertificate(certificate, directory);
        File.WriteAllText(made.CertPemPath, certificate.ExportCertificatePem());
        File.WriteAllText(made.KeyPemPath, key.ExportPkcs8PrivateKeyPem());
        File.WriteAllBytes(made.PfxPath, certificate.Export(X509ContentType.Pkcs12, PfxPassword));
        return made;
    }

    /// <summary>A client that trusts this certificate only (not any certificate): what a pinned client does.</summary>
    public HttpClient Client(Version version)
    {
        var handler = new SocketsHttpHandler
        {
            SslOptions = { RemoteCertificateValidationCallback = (_, presented, _, _) => presented is not null && presented.GetCertHashString() == Certificate.GetCertHashString() },
        };
        return new HttpClient(handler)
        {
            DefaultRequestVersion = version,
            DefaultVersionPolicy = HttpVersionPolicy.RequestVersionExact,
            Timeout = TimeSpan.FromSeconds(30),
        };
    }

    public void Dispose()
    {
        Certificate.Dispose();
        try
        {
            System.IO.Directory.Delete(Directory, recursive: true);
        }
        catch (IOException)
        {
            // A file still open by a hub that is stopping: the temp directory is cleaned up eventually.
        }
    }
}
