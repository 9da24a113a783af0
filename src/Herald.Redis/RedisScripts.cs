namespace Herald.Redis;

/// <summary>
/// The Lua scripts behind the Redis store. Each runs atomically on the server, which is what makes an update id
/// unique across every node of a cluster without a lock, and what keeps the id index and the stream in step.
/// </summary>
/// <remarks>
/// Keys: <c>KEYS[1]</c> the stream, <c>KEYS[2]</c> the hash from update id to stream entry id. Entry ids are
/// <c>0-N</c>, N being the update's sequence: Redis numbers them itself (<c>XADD key 0-*</c>, Redis 7), so
/// sequences are strictly increasing across nodes and survive trimming (the stream keeps its last id when empty).
/// </remarks>
internal static class RedisScripts
{
    /// <summary>
    /// Appends one update unless its id is already in history. <c>ARGV[1]</c> the update id, <c>ARGV[2]</c> the
    /// entry id to use if the stream is gone (empty: let Redis number it), then the entry's fields and values.
    /// Returns the new entry id, or nil for a duplicate id.
    /// </summary>
    /// <remarks>
    /// The stream can only be gone if Redis lost its data (restarted without persistence). Numbering then resumes
    /// after the appending node's last sequence instead of at 1, so positions clients hold are not handed out again.
    /// </remarks>
    public const string Append = """
        local stream, ids = KEYS[1], KEYS[2]
        local existing = redis.call('HGET', ids, ARGV[1])
        if existing and #redis.call('XRANGE', stream, existing, existing) > 0 then
          return false
        end
        local position = '0-*'
        if ARGV[2] ~= '' and redis.call('EXISTS', stream) == 0 then
          position = ARGV[2]
        end
        local entry = redis.call('XADD', stream, position, unpack(ARGV, 3))
        redis.call('HSET', ids, ARGV[1], entry)
        return entry
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
