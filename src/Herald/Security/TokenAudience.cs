namespace Herald.Security;

/// <summary>Who presents a token: each audience has its own key (and JWKS URL), as in the Mercure hub.</summary>
internal enum TokenAudience
{
    Publisher,
    Subscriber,
}
