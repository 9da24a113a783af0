namespace Herald.Redis;

/// <summary>
/// The Lua scripts behind the Redis store. Each runs atomically on the server, which is what makes an update id
/// unique across every node of a cluster without a lock, and what keeps the id index and the stream in step.
/// </summary>
/// <remarks>
/// Keys: <c>KEYS[1]</c> the stream, <c>KEYS[2]</c> the hash from update id to stream entry id. Entry ids are
/// <c>0-N</c>, N being the update's sequence: Redis numbers them itself (<c>XADD key 0-*</c>, Redis 7), so
/// sequences are strictly increasing across nodes and survive trimming (the stream keeps its last id when empty).
/// They never go back when Redis loses the stream's tail: see <see cref="Append"/> and <see cref="Rejoin"/>.
/// </remarks>
internal static class RedisScripts
{
    /// <summary>
    /// Appends one update unless its id is already in history. <c>ARGV[1]</c> the update id, <c>ARGV[2]</c> the
    /// highest sequence the appending node knows of (0: none), <c>ARGV[3]</c> the jump (see remarks), then the
    /// entry's fields and values. Returns the new entry id, or nil for a duplicate id.
    /// </summary>
    /// <remarks>
    /// <para>
    /// Redis numbers the entry after the stream's last id, which is past every sequence any node knows of, unless
    /// Redis lost the stream's tail (a restart without writes it had acknowledged but not yet written to its
    /// append-only file, or from an older snapshot). The stream then numbers from ids readers already passed, and
    /// an update given such a number is skipped by them as seen. The appending node notices when the stream ends
    /// below what it knows (the probe <c>XADD 0-known</c> is only accepted then); it cannot know how much further
    /// other nodes had read, so numbering jumps that far ahead of what it knows, past a marker entry (<c>j</c>) that
    /// tells readers the gap is a jump, not updates they missed.
    /// </para>
    /// </remarks>
    public const string Append = """
        local stream, ids = KEYS[1], KEYS[2]
        local existing = redis.call('HGET', ids, ARGV[1])
        if existing and #redis.call('XRANGE', stream, existing, existing) > 0 then
          return false
        end
        local known = tonumber(ARGV[2])
        if known > 0 then
          local probe = redis.pcall('XADD', stream, string.format('0-%d', known), 'j', '1')
          if type(probe) == 'string' then
            redis.call('XDEL', stream, probe)
            redis.call('XADD', stream, string.format('0-%d', known + tonumber(ARGV[3])), 'j', '1')
          end
        end
        local entry = redis.call('XADD', stream, '0-*', unpack(ARGV, 4))
        redis.call('HSET', ids, ARGV[1], entry)
        return entry
        """;

    /// <summary>
    /// Checks, when a reader comes back after losing Redis, that the stream still holds what the reader passed.
    /// <c>ARGV[1]</c> the reader's sequence (&gt; 0), <c>ARGV[2]</c> the id of the update it read there (empty:
    /// unknown), <c>ARGV[3]</c> the jump. Returns the stream's last id as it found it and a verdict: <c>ok</c>;
    /// <c>behind</c> when the last id is below the reader's sequence (Redis lost entries the reader had read: the
    /// script adds a marker entry the jump past the reader's sequence, as <see cref="Append"/> does, so that no node,
    /// however little it knows, numbers an update this reader or one a little ahead of it would skip);
    /// <c>renumbered</c> when the entry at the reader's sequence holds another update (Redis lost entries and a node
    /// that knew less numbered new ones from there before any node that knew more came back).
    /// </summary>
    /// <remarks>The last generated id is what counts, not the last entry: retention may have emptied the stream.</remarks>
    public const string Rejoin = """
        local stream = KEYS[1]
        local position = tonumber(ARGV[1])
        local entry = string.format('0-%d', position)
        local last = '0-0'
        if redis.call('EXISTS', stream) == 1 then
          local info = redis.call('XINFO', 'STREAM', stream)
          for i = 1, #info, 2 do
            if info[i] == 'last-generated-id' then last = info[i + 1] end
          end
        end
        if string.sub(last, 1, 2) ~= '0-' then
          return {last, 'foreign'}
        end
        if tonumber(string.sub(last, 3)) < position then
          redis.call('XADD', stream, string.format('0-%d', position + tonumber(ARGV[3])), 'j', '1')
          return {last, 'behind'}
        end
        if ARGV[2] ~= '' then
          local at = redis.call('XRANGE', stream, entry, entry)
          if #at > 0 then
            local fields = at[1][2]
            for i = 1, #fields, 2 do
              if fields[i] == 'i' and fields[i + 1] ~= ARGV[2] then
                return {last, 'renumbered'}
              end
            end
          end
        end
        return {last, 'ok'}
        """;

    /// <summary>The entry id of the update with id <c>ARGV[1]</c>, or nil when it was never stored or was trimmed.</summary>
    public const string Find = """
        local entry = redis.call('HGET', KEYS[2], ARGV[1])
        if entry and #redis.call('XRANGE', KEYS[1], entry, entry) > 0 then
          return entry
        end
        return false
        """;

    /// <summary>
    /// Removes the oldest entries that retention no longer keeps, at most <c>ARGV[3]</c> of them, with their ids:
    /// those with a sequence up to <c>ARGV[1]</c> (count limit; 0: none) and, from the oldest on, those stored
    /// before the Unix time in ms <c>ARGV[2]</c> (age limit; 0: none). Returns how many it removed.
    /// </summary>
    public const string Trim = """
        local stream, ids = KEYS[1], KEYS[2]
        local through, cutoff = tonumber(ARGV[1]), tonumber(ARGV[2])
        local entries = redis.call('XRANGE', stream, '-', '+', 'COUNT', ARGV[3])
        local last = nil
        local removed = 0
        for _, entry in ipairs(entries) do
          local fields = entry[2]
          local stored, id = 0, nil
          for i = 1, #fields, 2 do
            if fields[i] == 's' then stored = tonumber(fields[i + 1]) elseif fields[i] == 'i' then id = fields[i + 1] end
          end
          local sequence = tonumber(string.sub(entry[1], 3))
          if sequence > through and (cutoff == 0 or stored >= cutoff) then
            break
          end
          if id and redis.call('HGET', ids, id) == entry[1] then
            redis.call('HDEL', ids, id)
          end
          last = sequence
          removed = removed + 1
        end
        if last then
          redis.call('XTRIM', stream, 'MINID', string.format('0-%d', last + 1))
        end
        return removed
        """;
}
