// The platform's floor for an idle stream: resident memory per accepted loopback connection that has sent a small
// response and waits (a pending zero-byte read, as an idle subscriber does), with nothing else per connection — in
// cleartext (the socket alone) and over TLS (the socket under an SslStream, TLS 1.3, HTTP/1.1 by ALPN, a P-256
// certificate). A hub cannot keep an idle subscriber for less than this; (g) in compare.sh shows it beside the hubs.
// The clients run in a child process (this program, "idle-client"), so only the server side is counted.
// Usage: floor idle [connections=2000] [clear|tls]   → prints bytes per connection on stdout.
using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

internal static class IdleFloor
{
    private static readonly byte[] Head = "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n"u8.ToArray();

    public static async Task<int> RunAsync(string[] args)
    {
        var connections = args.Length > 1 ? int.Parse(args[1], CultureInfo.InvariantCulture) : 2000;
        var tls = args.Length > 2 && args[2] == "tls";
        using var certificate = tls ? Certificate() : null;
        var context = certificate is null ? null : SslStreamCertificateContext.Create(certificate, null);

        using var listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        listener.Listen(4096);
        var port = ((IPEndPoint)listener.LocalEndPoint!).Port;

        // One connection first, so what every connection shares (the TLS library, the certificate) is in "before".
        var held = new List<object>();
        using var client = Process.Start(new ProcessStartInfo("dotnet", [typeof(IdleFloor).Assembly.Location, "idle-client", port.ToString(CultureInfo.InvariantCulture), (connections + 1).ToString(CultureInfo.InvariantCulture), tls ? "tls" : "clear"]))!;
        held.Add(await AcceptAsync(listener, context));
        await Task.Delay(1000);
        var before = Resident();
        for (var i = 0; i < connections; i++)
        {
            held.Add(await AcceptAsync(listener, context));
        }

        await Task.Delay(2000);
        var after = Resident();
        client.Kill();
        var perConnection = (double)(after - before) / connections;
        Console.Error.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"idle floor ({(tls ? "TLS" : "cleartext")}): {connections:N0} connections, {perConnection / 1024:F2} KB resident each"));
        Console.WriteLine(perConnection.ToString("F0", CultureInfo.InvariantCulture));
        GC.KeepAlive(held);
        return 0;
    }

    /// <summary>The clients: connect, handshake when over TLS, read whatever comes, until killed.</summary>
    public static async Task<int> ClientAsync(string[] args)
    {
        var port = int.Parse(args[1], CultureInfo.InvariantCulture);
        var count = int.Parse(args[2], CultureInfo.InvariantCulture);
        var tls = args[3] == "tls";
        var held = new List<Stream>();
        for (var i = 0; i < count; i++)
        {
            var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            await socket.ConnectAsync(IPAddress.Loopback, port);
            Stream stream = new NetworkStream(socket, ownsSocket: true);
            if (tls)
            {
                var ssl = new SslStream(stream);
                await ssl.AuthenticateAsClientAsync(new SslClientAuthenticationOptions
                {
                    TargetHost = "localhost",
                    ApplicationProtocols = [SslApplicationProtocol.Http11],
                    RemoteCertificateValidationCallback = (_, _, _, _) => true, // the floor's own throwaway certificate
                });
                stream = ssl;
            }

            held.Add(stream);
            _ = DrainAsync(stream);
        }

        await Task.Delay(Timeout.Infinite);
        return 0;
    }

    private static async Task<object> AcceptAsync(Socket listener, SslStreamCertificateContext? context)
    {
        var socket = await listener.AcceptAsync();
        Stream stream = new NetworkStream(socket, ownsSocket: true);
        if (context is not null)
        {
            var ssl = new SslStream(stream);
            await ssl.AuthenticateAsServerAsync(new SslServerAuthenticationOptions
            {
                ServerCertificateContext = context,
                ApplicationProtocols = [SslApplicationProtocol.Http11],
            });
            stream = ssl;
        }

        await stream.WriteAsync(Head);
        _ = stream.ReadAsync(Memory<byte>.Empty).AsTask();
        return stream;
    }

    private static async Task DrainAsync(Stream stream)
    {
        var buffer = new byte[4096];
        try
        {
            while (await stream.ReadAsync(buffer) > 0)
            {
            }
        }
        catch (IOException)
        {
            // The server went away.
        }
    }

    private static X509Certificate2 Certificate()
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest("CN=localhost", key, HashAlgorithmName.SHA256);
        using var created = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(1));

        // Through PKCS#12, as a certificate loaded from a file would be.
        return X509CertificateLoader.LoadPkcs12(created.Export(X509ContentType.Pkcs12), null);
    }

    private static long Resident()
    {
        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect();
        foreach (var line in File.ReadLines("/proc/self/status"))
        {
            if (line.StartsWith("VmRSS:", StringComparison.Ordinal))
            {
                return long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture) * 1024;
            }
        }

        throw new InvalidOperationException("no VmRSS in /proc/self/status");
    }
}
