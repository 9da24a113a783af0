using System.Buffers.Binary;
using System.Net;

namespace Herald.Topics;

/// <summary>
/// Who brings a matcher to the hub's index, for the per-client share of each capped bucket
/// (<see cref="HeraldOptions.MaxMatchersPerAnchorPerClient"/>): the connection's remote address, an IPv4 address whole
/// and an IPv6 address by its /64, since one host is routinely given a whole /64 and could otherwise rotate through it.
/// </summary>
/// <remarks>
/// The address is the one ASP.NET Core reports (<c>HttpContext.Connection.RemoteIpAddress</c>), so an app's
/// ForwardedHeaders middleware, which rewrites it, decides it behind a proxy; the direct path reports its socket's peer.
/// An IPv4-mapped IPv6 address (a dual-mode socket) counts as its IPv4 address. A connection with no IP address (a unix
/// socket, an in-process test server) is <see cref="Unknown"/>: all of them together are one client, which errs on the
/// side of the caps (they cannot add up to more than one client's share) rather than of the connections.
/// </remarks>
internal readonly record struct MatcherClient
{
    // IPv4 as its IPv4-mapped IPv6 value (::ffff:a.b.c.d, low 64 bits not zero), IPv6 as its first 64 bits with the low
    // 64 bits zero, unknown as all ones: the three never collide.
    private readonly UInt128 _value;

    private MatcherClient(UInt128 value) => _value = value;

    /// <summary>Every connection without an IP address.</summary>
    public static MatcherClient Unknown { get; } = new(UInt128.MaxValue);

    /// <summary>The client <paramref name="address"/> stands for.</summary>
    public static MatcherClient From(IPAddress? address)
    {
        if (address is null)
        {
            return Unknown;
        }

        if (address.IsIPv4MappedToIPv6)
        {
            address = address.MapToIPv4();
        }

        Span<byte> bytes = stackalloc byte[16];
        if (address.AddressFamily == System.Net.Sockets.AddressFamily.InterNetwork)
        {
            address.TryWriteBytes(bytes, out _);
            return new MatcherClient(((UInt128)0xFFFF << 32) | BinaryPrimitives.ReadUInt32BigEndian(bytes));
        }

        address.TryWriteBytes(bytes, out _);
        return new MatcherClient((UInt128)BinaryPrimitives.ReadUInt64BigEndian(bytes) << 64);
    }
}
