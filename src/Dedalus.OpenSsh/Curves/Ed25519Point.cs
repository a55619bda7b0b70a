using System.Numerics;

namespace Dedalus.OpenSsh.Curves;

/// <summary>
/// A point of edwards25519 (RFC 8032 5.1: -x^2 + y^2 = 1 + d x^2 y^2 over GF(p), p = 2^255 - 19, d = -121665/121666)
/// with what a public key check needs: decoding (5.1.3) and doubling, hence the multiple by the cofactor 8. It handles
/// public keys only, so nothing here is constant-time; BigInteger keeps it readable.
/// </summary>
/// <remarks>
/// A point is held by its y alone, as the projective ratio Y : Z. The curve gives x^2 from y, x^2 = (y^2 - 1) / (d y^2 + 1),
/// and doubling needs x^2 only, so x itself (a square root: an exponentiation, ten times the cost of everything else
/// here) is never computed. Decoding decides whether x exists with the Jacobi symbol instead, and y = 1 names the
/// identity (0, 1) alone.
/// </remarks>
internal readonly struct Ed25519Point
{
    /// <summary>The size of an encoded point (RFC 8032 5.1.2).</summary>
    public const int EncodedLength = 32;

    /// <summary>p = 2^255 - 19.</summary>
    private static readonly BigInteger P = BigInteger.Pow(2, 255) - 19;

    /// <summary>d = -121665 / 121666 (mod p); the inverse by Fermat, 121666^(p-2).</summary>
    private static readonly BigInteger D = Mod(-121665 * BigInteger.ModPow(121666, P - 2, P));

    private readonly BigInteger _y;
    private readonly BigInteger _z;

    private Ed25519Point(BigInteger y, BigInteger z)
    {
        _y = y;
        _z = z;
    }

    /// <summary>Whether this is the neutral element (0, 1): y = Y/Z = 1, the one point of the curve with that y.</summary>
    public bool IsIdentity => Mod(_y - _z).IsZero;

    /// <summary>
    /// Decodes a point as RFC 8032 5.1.3 does and refuses what it refuses: a y that is not below p (step 1: a second
    /// encoding of a point), a y for which no x exists (steps 2-3: not a point of the curve), and x = 0 with the sign
    /// bit set (step 4: a second encoding of (0, 1) or (0, -1)).
    /// </summary>
    public static Ed25519Decoding TryDecode(ReadOnlySpan<byte> encoded, out Ed25519Point point)
    {
        point = default;
        if (encoded.Length != EncodedLength)
        {
            return Ed25519Decoding.WrongLength;
        }

        // Step 1: y is the little-endian number without bit 255; bit 255 is the sign (the low bit) of x.
        Span<byte> yBytes = stackalloc byte[EncodedLength];
        encoded.CopyTo(yBytes);
        var xSign = yBytes[^1] >> 7;
        yBytes[^1] &= 0x7F;
        var y = new BigInteger(yBytes, isUnsigned: true, isBigEndian: false);
        if (y >= P)
        {
            return Ed25519Decoding.NonCanonicalY;
        }

        // Steps 2-3: x^2 = u / v with u = y^2 - 1, v = d y^2 + 1 (never 0: -1/d is no square). An x exists when u / v is
        // a square, that is when u v is (or u is 0).
        var y2 = y * y % P;
        var u = Mod(y2 - 1);
        var v = Mod((D * y2) + 1);
        if (JacobiSymbol(u * v % P, P) == -1)
        {
            return Ed25519Decoding.NotOnCurve;
        }

        // Step 4: x = 0 (y = 1 or -1) has one encoding, sign 0.
        if (u.IsZero && xSign == 1)
        {
            return Ed25519Decoding.NonCanonicalZeroX;
        }

        point = new Ed25519Point(y, BigInteger.One);
        return Ed25519Decoding.Decoded;
    }

    /// <summary>
    /// 2P. The addition law (RFC 8032 5.1.4) gives y(2P) = (y^2 + x^2) / (1 - d x^2 y^2); with the curve's
    /// x^2 = (s - 1) / (d s + 1), s = y^2, that is (d s^2 + 2 s - 1) / (-d s^2 + 2 d s + 1), and with y = Y/Z:
    /// Y' = d Y^4 + 2 Y^2 Z^2 - Z^4, Z' = -d Y^4 + 2 d Y^2 Z^2 + Z^4. Z' is never 0 on the curve (the law is complete).
    /// </summary>
    public Ed25519Point Double()
    {
        var y2 = _y * _y % P;
        var z2 = _z * _z % P;
        var dy4 = D * y2 % P * y2 % P;
        var y2z2 = 2 * y2 % P * z2 % P;
        var z4 = z2 * z2 % P;
        return new Ed25519Point(Mod(dy4 + y2z2 - z4), Mod(-dy4 + (D * y2z2) + z4));
    }

    /// <summary>
    /// The order of this point when it is small (1, 2, 4 or 8: it lies in the torsion subgroup, and the cofactor 8
    /// times it is the identity), else 0. A real public key is a multiple of the base point, whose order is the large
    /// prime L; a key of small order verifies signatures that nobody made.
    /// </summary>
    public int SmallOrder()
    {
        var multiple = this;
        for (var order = 1; order <= 8; order *= 2)
        {
            if (multiple.IsIdentity)
            {
                return order;
            }

            multiple = multiple.Double();
        }

        return 0;
    }

    /// <summary>
    /// The Jacobi symbol (a/n) for odd n > 0 by quadratic reciprocity (for the prime p it is the Legendre symbol: 1 for
    /// a non-zero square, -1 for a non-square, 0 for 0). As fast as a gcd, where Euler's a^((p-1)/2) is an exponentiation.
    /// </summary>
    private static int JacobiSymbol(BigInteger a, BigInteger n)
    {
        a %= n;
        var result = 1;
        while (!a.IsZero)
        {
            // (2/n) = -1 exactly when n = 3 or 5 (mod 8).
            var twos = (int)BigInteger.TrailingZeroCount(a);
            a >>= twos;
            if ((twos & 1) == 1 && (int)(n & 7) is 3 or 5)
            {
                result = -result;
            }

            // Reciprocity: (a/n) = (n/a), unless both are 3 (mod 4).
            (a, n) = (n, a);
            if ((int)(a & 3) == 3 && (int)(n & 3) == 3)
            {
                result = -result;
            }

            a %= n;
        }

        return n.IsOne ? result : 0;
    }

    private static BigInteger Mod(BigInteger value)
    {
        var r = value % P;
        return r.Sign < 0 ? r + P : r;
    }
}
