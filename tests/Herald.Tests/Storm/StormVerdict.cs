namespace Herald.Tests.Storm;

/// <summary>
/// What the subscribers of a <see cref="StormFleet"/> hold after a storm, summed over all of them: acknowledged updates
/// missing, updates received more than once, acknowledged updates received after a later one, and how many subscribers
/// miss at least one; <see cref="Example"/> names the first problem found.
/// </summary>
internal sealed record StormVerdict(long Lost, long Duplicated, long OutOfOrder, long IncompleteSubscribers, string? Example)
{
    public bool ExactlyOnceInOrder => Lost == 0 && Duplicated == 0 && OutOfOrder == 0;

    public override string ToString()
        => $"lost {Lost} (on {IncompleteSubscribers} subscribers), duplicated {Duplicated}, out of order {OutOfOrder}{(Example is null ? "" : "; e.g. " + Example)}";
}
