using System.Buffers.Text;
using System.Security.Cryptography;
using System.Text;

namespace Herald.Bench;

/// <summary>
/// An HS256 JWT whose <c>mercure</c> claim allows publishing and subscribing to every topic, so a run needs only the
/// hub's key. Minted here rather than by Herald's token issuer: the load generator depends on no Herald assembly
/// (it drives any SSE server), and a token with a fixed claim needs nothing but the signature.
/// </summary>
internal static class PublisherToken
{
    public static string Mint(string key)
    {
        var header = Base64Url.EncodeToString("{\"alg\":\"HS256\",\"typ\":\"JWT\"}"u8);
        var claims = Base64Url.EncodeToString("{\"mercure\":{\"publish\":[\"*\"],\"subscribe\":[\"*\"]}}"u8);
        var signingInput = header + "." + claims;
        var signature = HMACSHA256.HashData(Encoding.UTF8.GetBytes(key), Encoding.ASCII.GetBytes(signingInput));
        return signingInput + "." + Base64Url.EncodeToString(signature);
    }
}
