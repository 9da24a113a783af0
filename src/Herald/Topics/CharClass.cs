namespace Herald.Topics;

/// <summary>The characters a template value may take (RFC 6570 §3.2.1), with the list separators of its operator.</summary>
internal enum CharClass : byte
{
    Unreserved,
    ReservedOrUnreserved,
    UnreservedOrComma,
    UnreservedCommaOrSlash,
}
