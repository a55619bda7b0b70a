namespace Dedalus.OpenSsh.Curves;

/// <summary>The outcome of decoding an Ed25519 point (RFC 8032 5.1.3).</summary>
internal enum Ed25519Decoding
{
    /// <summary>A point of the curve, canonically encoded.</summary>
    Decoded,

    /// <summary>Not 32 bytes.</summary>
    WrongLength,

    /// <summary>y is not below p = 2^255 - 19: a second encoding of a point (RFC 8032 refuses it).</summary>
    NonCanonicalY,

    /// <summary>No x satisfies the curve equation for this y.</summary>
    NotOnCurve,

    /// <summary>x = 0 with the sign bit set: a second encoding of (0, 1) or (0, -1).</summary>
    NonCanonicalZeroX,
}
