namespace Herald.Topics;

/// <summary>
/// The compiled URI templates in use, shared by <see cref="UriTemplate.Key"/>: subscribers naming the same template hold one automaton,
/// and it is dropped when the last of them leaves.
/// </summary>
/// <remarks>
/// Compiling happens outside this registry's lock (it is linear in the template's length, but a subscription's
/// hundred templates should not queue other subscribers behind it), and publishing never takes this lock.
/// </remarks>
internal sealed class TemplateRegistry
{
    private readonly object _gate = new();
    private readonly Dictionary<string, Entry> _live = new(StringComparer.Ordinal);

    /// <summary>How many distinct templates subscribers hold now.</summary>
    public int Count
    {
        get
        {
            lock (_gate)
            {
                return _live.Count;
            }
        }
    }

    /// <summary>
    /// The compiled template for <paramref name="text"/>, shared with every template of the same
    /// <see cref="UriTemplate.Key"/>; <c>null</c> when it does not parse. Pair with <see cref="Release"/>.
    /// </summary>
    public UriTemplate? Acquire(string text)
    {
        // Parsing and compiling are linear in the text, and happen outside the lock.
        if (!UriTemplate.TryParse(text, out var compiled))
        {
            return null;
        }

        lock (_gate)
        {
            if (_live.TryGetValue(compiled!.Key, out var entry))
            {
                entry.Users++;
                return entry.Template;
            }

            _live[compiled.Key] = new Entry(compiled);
            return compiled;
        }
    }

    public void Release(UriTemplate template)
    {
        lock (_gate)
        {
            if (_live.TryGetValue(template.Key, out var entry) && ReferenceEquals(entry.Template, template) && --entry.Users == 0)
            {
                _live.Remove(template.Key);
            }
        }
    }

    private sealed class Entry(UriTemplate template)
    {
        public UriTemplate Template { get; } = template;

        public int Users { get; set; } = 1;
    }
}
