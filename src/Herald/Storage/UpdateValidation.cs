using System.Buffers;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using Herald.Topics;

namespace Herald.Storage;

/// <summary>
/// What an update must be: the one rule set the hub applies at every way in (<see cref="Update.Check"/>), and the
/// little every local store demands before it takes a sequence (<see cref="ThrowIfInvalid"/>).
/// </summary>
internal static class UpdateValidation
{
    private const string IdPrefix = "urn:uuid:";

    /// <summary>The <c>Last-Event-ID</c> value that asks for all history: never an update's id.</summary>
    private const string EarliestId = "earliest";

    /// <summary>The topic every matcher type reads as "every topic".</summary>
    private const string Wildcard = "*";

    /// <summary>The SSE event type of the hub's own (1.0) presence events.</summary>
    private const string ReservedType = "mercure";

    /// <summary>Random bytes fetched at once for this many ids, so an id does not cost a system call.</summary>
    private const int IdsPerRefill = 64;

    /// <summary>
    /// The characters <see cref="FindForbidden"/> looks at: every control and BMP format character (refused), and
    /// surrogates (checked as pairs: outside the BMP, only tags and a few musical and Egyptian formatting marks are Cf).
    /// </summary>
    private static readonly SearchValues<char> Suspicious = SearchValues.Create(BuildSuspicious());

    [ThreadStatic]
    private static byte[]? t_random;

    [ThreadStatic]
    private static int t_randomUsed;

    /// <summary>
    /// What a store itself demands before it takes a sequence: an update with a topic. The hub's rules
    /// (<see cref="Check(Update, ReservedTopics)"/>) ran before the update reached the store; this guards a store called directly.
    /// </summary>
    public static void ThrowIfInvalid(Update update)
    {
        ArgumentNullException.ThrowIfNull(update);
        if (update.Topics is null || update.Topics.Count == 0)
        {
            throw new ArgumentException("An update needs at least one topic.", nameof(update));
        }
    }

    /// <summary>
    /// The one-line reason a hub at the default path refuses <paramref name="update"/>, or <c>null</c>
    /// (<see cref="Update.Check"/>); a hub applies its own namespace (<see cref="Check(Update, ReservedTopics)"/>).
    /// </summary>
    public static string? Check(Update update) => Check(update, ReservedTopics.Default);

    /// <summary>
    /// The one-line reason the hub refuses <paramref name="update"/>, or <c>null</c> when it may be published: the one
    /// check every way into the hub goes through (HTTP publish, <see cref="IHeraldPublisher"/>, broadcasts), for 0.x
    /// and 1.0 publishers alike (Mercure 1.0, "Publication"). Only the hub itself may use its namespace
    /// (<paramref name="reserved"/>) and the event type <c>mercure</c>, which its 1.0 presence events carry; its own
    /// events never come through here (they go from presence to the hub's sink). No topic may be exactly <c>*</c>:
    /// it is the wildcard every matcher type reads as "every topic", so an update there could not be subscribed to
    /// alone, and no 0.x publisher could mean it either.
    /// </summary>
    /// <remarks>Linear in the update's topics, id and type; the data is not scanned (it is framed line by line).</remarks>
    public static string? Check(Update update, ReservedTopics reserved)
    {
        ArgumentNullException.ThrowIfNull(update);
        ArgumentNullException.ThrowIfNull(reserved);
        var topics = update.Topics;
        if (topics is null || topics.Count == 0)
        {
            return "an update needs at least one topic";
        }

        foreach (var topic in topics)
        {
            if (string.IsNullOrEmpty(topic))
            {
                return "a topic must not be empty";
            }

            if (topic == Wildcard)
            {
                return $"topic {Wildcard} is reserved for the wildcard matcher";
            }

            if (FindForbidden(topic) is { } reason)
            {
                return "topic " + reason;
            }

            if (reserved.Contains(topic))
            {
                // The topic is not quoted: it may be a megabyte long.
                return $"a topic is in the hub's own namespace ({reserved.Description} and below): only the hub publishes there";
            }
        }

        if (update.EventId is { } id && CheckId(id) is { } idError)
        {
            return idError;
        }

        if (update.EventType is { } type)
        {
            if (FindForbidden(type) is { } reason)
            {
                return "type " + reason;
            }

            if (type == ReservedType)
            {
                return $"type {ReservedType} is reserved for the hub's own events";
            }
        }

        return null;
    }

    /// <summary>
    /// Why <paramref name="id"/> cannot be an update's id, or <c>null</c>. An id is echoed in the
    /// <c>Last-Event-ID</c> response header of every subscriber resuming at or after it, and a response header is
    /// ASCII only (Kestrel throws on anything else, and the hand-written subscription path refuses it too): a single
    /// stored <c>ü</c> made every resume answer 500. So an id is printable ASCII (0x20–0x7E), as the reference hub's
    /// <c>urn:uuid:</c> ids are, with no space at either end (header parsers trim it, so the id would come back
    /// without it). It must not start with <c>#</c> (Mercure 0.x) nor be <c>earliest</c>, which asks for all history.
    /// </summary>
    public static string? CheckId(string id)
    {
        ArgumentNullException.ThrowIfNull(id);
        if (id.Length == 0)
        {
            return "id must not be empty";
        }

        if (!IsHeaderSafe(id))
        {
            return "id must be printable ASCII (no control characters, no space at either end, no other script)";
        }

        if (id[0] == '#')
        {
            return "id must not start with #";
        }

        return id == EarliestId ? $"id {EarliestId} is reserved (it asks for all history)" : null;
    }

    /// <summary>Whether <paramref name="value"/> can go in a response header as it is: printable ASCII, no space at either end.</summary>
    public static bool IsHeaderSafe(string value)
        => value.Length > 0
            && !value.AsSpan().ContainsAnyExceptInRange((char)0x20, (char)0x7E)
            && value[0] != ' '
            && value[^1] != ' ';

    /// <summary>
    /// Why <paramref name="text"/> is unfit for a topic or an event type, or <c>null</c>: C0 controls (CR, LF, NUL
    /// break the framing), DEL, C1 controls, format characters (category Cf: bidi overrides, zero-width characters,
    /// which make one topic look like another), or a lone surrogate (text that was not valid UTF-8).
    /// </summary>
    public static string? FindForbidden(string text)
    {
        var rest = text.AsSpan();
        int at;
        while ((at = rest.IndexOfAny(Suspicious)) >= 0)
        {
            if (!char.IsSurrogate(rest[at]))
            {
                return "must not contain control or format characters";
            }

            if (Rune.DecodeFromUtf16(rest[at..], out var rune, out var length) != OperationStatus.Done)
            {
                return "must be valid UTF-8 (it holds a lone surrogate)";
            }

            if (Rune.GetUnicodeCategory(rune) == UnicodeCategory.Format)
            {
                return "must not contain control or format characters";
            }

            rest = rest[(at + length)..];
        }

        return null;
    }

    private static string BuildSuspicious()
    {
        var chars = new StringBuilder();
        for (var c = 0; c <= char.MaxValue; c++)
        {
            var ch = (char)c;
            if (char.IsControl(ch) || char.IsSurrogate(ch) || CharUnicodeInfo.GetUnicodeCategory(ch) == UnicodeCategory.Format)
            {
                chars.Append(ch);
            }
        }

        return chars.ToString();
    }

    /// <summary>The id given to an update published without one: a <c>urn:uuid:</c> as the Mercure reference hub does.</summary>
    /// <remarks>
    /// <para>
    /// Version 7 (time-ordered) rather than random: ids are indexed in history, and ordered ids land at the end
    /// of the index instead of dirtying a random page per insert, which makes SQLite appends about three times
    /// cheaper under load. They are still opaque UUIDs to clients.
    /// </para>
    /// <para>
    /// The same UUIDs as <see cref="Guid.CreateVersion7()"/> (48-bit Unix milliseconds, then 74 random bits from the
    /// system's cryptographic generator), but the random bytes are fetched for many ids at once: fetched per id,
    /// as <see cref="Guid.NewGuid"/> does, they cost a system call per publish.
    /// </para>
    /// </remarks>
    public static string NewId()
    {
        var random = t_random;
        var used = t_randomUsed;
        if (random is null || used == random.Length)
        {
            random = t_random ??= new byte[16 * IdsPerRefill];
            RandomNumberGenerator.Fill(random);
            used = 0;
        }

        t_randomUsed = used + 16;
        Span<byte> bytes = stackalloc byte[16];
        random.AsSpan(used, 16).CopyTo(bytes);

        // Wiped as soon as taken, so the bytes of ids to come never linger in memory readable by anything else.
        random.AsSpan(used, 16).Clear();

        // RFC 9562 §5.7, big-endian: unix_ts_ms (48 bits), ver (4 bits) = 7, then variant (2 bits) = 0b10.
        var milliseconds = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        bytes[0] = (byte)(milliseconds >> 40);
        bytes[1] = (byte)(milliseconds >> 32);
        bytes[2] = (byte)(milliseconds >> 24);
        bytes[3] = (byte)(milliseconds >> 16);
        bytes[4] = (byte)(milliseconds >> 8);
        bytes[5] = (byte)milliseconds;
        bytes[6] = (byte)((bytes[6] & 0x0F) | 0x70);
        bytes[8] = (byte)((bytes[8] & 0x3F) | 0x80);
        var guid = new Guid(bytes, bigEndian: true);

        return string.Create(IdPrefix.Length + 36, guid, static (chars, guid) =>
        {
            IdPrefix.CopyTo(chars);
            guid.TryFormat(chars[IdPrefix.Length..], out _, "D");
        });
    }
}
