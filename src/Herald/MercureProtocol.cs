namespace Herald;

/// <summary>Which generations of the Mercure protocol the hub speaks (<see cref="HeraldOptions.Protocol"/>).</summary>
public enum MercureProtocol
{
    /// <summary>Mercure 1.0 and, for every deployed client, 0.x (<c>topic=</c>, the <c>mercure</c> claim, tokens in the query string): the default.</summary>
    Compatible = 0,

    /// <summary>Mercure 1.0 only.</summary>
    V1 = 1,
}
