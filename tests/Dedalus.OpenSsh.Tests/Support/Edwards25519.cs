using System.Numerics;

namespace Dedalus.OpenSsh.Tests.Support;

/// <summary>
/// The test's own edwards25519 arithmetic, written apart from the library's: affine points, the complete addition law
/// (RFC 8032 5.1.4 in affine form), square roots by Tonelli-Shanks and the encoding of 5.1.2. Slow and plain on purpose.
/// </summary>
internal static class Edwards25519
{
    public static readonly BigInteger P = BigInteger.Pow(2, 255) - 19;

    public static readonly BigInteger D = Mod(-121665 * Inverse(121666));

    public static readonly (BigInteger X, BigInteger Y) Identity = (0, 1);

    public static BigInteger Mod(BigInteger value)
    {
        var r = value % P;
        return r.Sign < 0 ? r + P : r;
    }

    public static BigInteger Inverse(BigInteger value) => BigInteger.ModPow(Mod(value), P - 2, P);

    /// <summary>-x^2 + y^2 = 1 + d x^2 y^2.</summary>
    public static bool IsOnCurve((BigInteger X, BigInteger Y) point)
    {
        var (x, y) = point;
        return Mod(-(x * x) + (y * y)) == Mod(1 + (D * x * x * y * y));
    }

    /// <summary>(x1 y2 + y1 x2) / (1 + d x1 x2 y1 y2), (y1 y2 + x1 x2) / (1 - d x1 x2 y1 y2): complete for a = -1.</summary>
    public static (BigInteger X, BigInteger Y) Add((BigInteger X, BigInteger Y) a, (BigInteger X, BigInteger Y) b)
    {
        var t = Mod(D * a.X * b.X * a.Y * b.Y);
        return (Mod((a.X * b.Y) + (a.Y * b.X)) * Inverse(1 + t) % P, Mod((a.Y * b.Y) + (a.X * b.X)) * Inverse(1 - t) % P);
    }

    public static (BigInteger X, BigInteger Y) Multiply(BigInteger k, (BigInteger X, BigInteger Y) point)
    {
        var result = Identity;
        var addend = point;
        while (k > 0)
        {
            if (!k.IsEven)
            {
                result = Add(result, addend);
            }

            addend = Add(addend, addend);
            k >>= 1;
        }

        return result;
    }

    /// <summary>The smallest n in 1..8 with n P = identity, or 0.</summary>
    public static int Order((BigInteger X, BigInteger Y) point)
    {
        for (var n = 1; n <= 8; n++)
        {
            if (Multiply(n, point) == Identity)
            {
                return n;
            }
        }

        return 0;
    }

    public static bool IsSquare(BigInteger value) => value.IsZero || BigInteger.ModPow(Mod(value), (P - 1) / 2, P).IsOne;

    /// <summary>A square root by Tonelli-Shanks (p - 1 = q 2^s with q odd).</summary>
    public static BigInteger Sqrt(BigInteger value)
    {
        value = Mod(value);
        if (value.IsZero)
        {
            return 0;
        }

        Assert.True(IsSquare(value), "not a square");
        var q = P - 1;
        var s = 0;
        while (q.IsEven)
        {
            q >>= 1;
            s++;
        }

        BigInteger z = 2;
        while (IsSquare(z))
        {
            z++;
        }

        var m = s;
        var c = BigInteger.ModPow(z, q, P);
        var t = BigInteger.ModPow(value, q, P);
        var r = BigInteger.ModPow(value, (q + 1) / 2, P);
        while (!t.IsOne)
        {
            var i = 0;
            var t2 = t;
            while (!t2.IsOne)
            {
                t2 = t2 * t2 % P;
                i++;
            }

            var b = BigInteger.ModPow(c, BigInteger.Pow(2, m - i - 1), P);
            m = i;
            c = b * b % P;
            t = t * c % P;
            r = r * b % P;
        }

        return r;
    }

    /// <summary>The x of sign <paramref name="sign"/> (its low bit) on the curve at <paramref name="y"/>.</summary>
    public static BigInteger RecoverX(BigInteger y, int sign)
    {
        var x = Sqrt(Mod((y * y) - 1) * Inverse((D * y * y) + 1));
        return (int)(x & 1) == sign ? x : Mod(-x);
    }

    /// <summary>RFC 8032 5.1.2: y little-endian in 255 bits, the low bit of x in bit 255.</summary>
    public static byte[] Encode(BigInteger x, BigInteger y)
    {
        var bytes = new byte[32];
        y.TryWriteBytes(bytes, out _, isUnsigned: true, isBigEndian: false);
        bytes[31] |= (byte)((int)(x & 1) << 7);
        return bytes;
    }

    public static byte[] Encode((BigInteger X, BigInteger Y) point) => Encode(point.X, point.Y);

    /// <summary>The point of a canonical encoding (the test's inputs are real keys).</summary>
    public static (BigInteger X, BigInteger Y) Decode(ReadOnlySpan<byte> encoded)
    {
        var bytes = encoded.ToArray();
        var sign = bytes[31] >> 7;
        bytes[31] &= 0x7F;
        var y = new BigInteger(bytes, isUnsigned: true, isBigEndian: false);
        return (RecoverX(y, sign), y);
    }
}
