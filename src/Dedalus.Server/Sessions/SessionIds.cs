using System.Security.Cryptography;

namespace Dedalus.Server.Sessions;

/// <summary>Session ids: <c>ss-</c> and 20 random bytes in lowercase hex (a valid public path segment).</summary>
public static class SessionIds
{
    public const string Prefix = "ss-";

    public static string New() => Prefix + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(20));

    /// <summary>A fresh, non-zero 64-bit certificate serial.</summary>
    public static ulong NewSerial()
    {
        Span<byte> bytes = stackalloc byte[8];
        ulong serial;
        do
        {
            RandomNumberGenerator.Fill(bytes);
            serial = BitConverter.ToUInt64(bytes);
        }
        while (serial == 0);
        return serial;
    }

    public static bool IsWellFormed(string? value) =>
        value is { Length: > 3 and <= 253 } && value.StartsWith(Prefix, StringComparison.Ordinal) && value.AsSpan(Prefix.Length).IndexOfAnyExcept("0123456789abcdef") < 0;
}
