namespace Herald.Tests.Security;

/// <summary>A clock the test moves by hand, to cross refresh intervals without waiting for them.</summary>
internal sealed class ManualTimeProvider(DateTimeOffset start) : TimeProvider
{
    private DateTimeOffset _now = start;

    public override DateTimeOffset GetUtcNow() => _now;

    public void Advance(TimeSpan by) => _now += by;
}
