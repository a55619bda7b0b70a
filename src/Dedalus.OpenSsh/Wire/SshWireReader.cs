using System.Buffers.Binary;
using System.Text;

namespace Dedalus.OpenSsh.Wire;

/// <summary>
/// Reads the SSH wire encoding of RFC 4251 section 5 (byte, uint32, uint64, string, mpint) from a
/// span. Every read checks bounds and throws <see cref="SshFormatException"/> naming the field, so
/// truncated or hostile input can never read outside the span.
/// </summary>
internal ref struct SshWireReader
{
    private static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    private readonly ReadOnlySpan<byte> _data;
    private int _position;

    public SshWireReader(ReadOnlySpan<byte> data)
    {
        _data = data;
        _position = 0;
    }

    public readonly int Position => _position;

    public readonly int Remaining => _data.Length - _position;

    public readonly bool IsEmpty => _position == _data.Length;

    public byte ReadByte(string field) => Take(1, field)[0];

    public uint ReadUInt32(string field) => BinaryPrimitives.ReadUInt32BigEndian(Take(4, field));

    public ulong ReadUInt64(string field) => BinaryPrimitives.ReadUInt64BigEndian(Take(8, field));

    /// <summary>The next <paramref name="count"/> bytes of a fixed-size field; throws naming <paramref name="field"/> when fewer are left.</summary>
    private ReadOnlySpan<byte> Take(int count, string field)
    {
        if (Remaining < count)
        {
            throw Truncated(field);
        }

        var value = _data.Slice(_position, count);
        _position += count;
        return value;
    }

    /// <summary>Reads a <c>string</c>: uint32 length followed by that many bytes.</summary>
    public ReadOnlySpan<byte> ReadString(string field)
    {
        var length = ReadUInt32(field);
        if (length > (uint)Remaining)
        {
            throw new SshFormatException($"{field} is truncated (declares {length} bytes, {Remaining} left)");
        }

        var value = _data.Slice(_position, (int)length);
        _position += (int)length;
        return value;
    }

    /// <summary>Reads a <c>string</c> that must hold valid UTF-8 text.</summary>
    public string ReadUtf8(string field)
    {
        var bytes = ReadString(field);
        try
        {
            return StrictUtf8.GetString(bytes);
        }
        catch (DecoderFallbackException ex)
        {
            throw new SshFormatException($"{field} is not valid UTF-8", ex);
        }
    }

    /// <summary>
    /// Reads a non-negative <c>mpint</c> and returns its magnitude (big-endian, no leading zero
    /// bytes). Negative values and values over <paramref name="maxBytes"/> are refused.
    /// </summary>
    public ReadOnlySpan<byte> ReadPositiveMPInt(string field, int maxBytes)
    {
        var raw = ReadString(field);
        if (raw.Length > 0 && (raw[0] & 0x80) != 0)
        {
            throw new SshFormatException($"{field} is negative");
        }

        var start = 0;
        while (start < raw.Length && raw[start] == 0)
        {
            start++;
        }

        var magnitude = raw[start..];
        if (magnitude.Length > maxBytes)
        {
            throw new SshFormatException($"{field} is too large ({magnitude.Length} bytes)");
        }

        return magnitude;
    }

    /// <summary>Throws unless every byte was consumed.</summary>
    public readonly void EnsureEnd(string what)
    {
        if (!IsEmpty)
        {
            throw new SshFormatException($"{what} has {Remaining} trailing bytes");
        }
    }

    private readonly SshFormatException Truncated(string field) =>
        new($"{field} is truncated ({Remaining} bytes left)");
}
