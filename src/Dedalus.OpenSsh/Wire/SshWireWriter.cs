using System.Buffers;
using System.Buffers.Binary;
using System.Text;

namespace Dedalus.OpenSsh.Wire;

/// <summary>
/// Writes the SSH wire encoding of RFC 4251 section 5 into a caller-supplied span (usually
/// stack memory), growing into an <see cref="ArrayPool{T}"/> buffer only when it overflows.
/// Dispose returns any rented buffer; <see cref="Written"/> is invalid after that.
/// Nested <c>string</c> fields are written in place with <see cref="BeginString"/> /
/// <see cref="EndString"/>, which patch the uint32 length afterwards (no intermediate copies).
/// </summary>
internal ref struct SshWireWriter
{
    private Span<byte> _buffer;
    private byte[]? _rented;
    private int _length;

    public SshWireWriter(Span<byte> initialBuffer)
    {
        _buffer = initialBuffer;
        _rented = null;
        _length = 0;
    }

    public readonly int Length => _length;

    public readonly ReadOnlySpan<byte> Written => _buffer[.._length];

    public void WriteByte(byte value) => Reserve(1)[0] = value;

    public void WriteUInt32(uint value) => BinaryPrimitives.WriteUInt32BigEndian(Reserve(4), value);

    public void WriteUInt64(ulong value) => BinaryPrimitives.WriteUInt64BigEndian(Reserve(8), value);

    public void WriteRaw(scoped ReadOnlySpan<byte> value) => value.CopyTo(Reserve(value.Length));

    /// <summary>Writes a <c>string</c>: uint32 length then the bytes.</summary>
    public void WriteString(scoped ReadOnlySpan<byte> value)
    {
        WriteUInt32((uint)value.Length);
        WriteRaw(value);
    }

    /// <summary>Writes a <c>string</c> holding the UTF-8 encoding of <paramref name="value"/>.</summary>
    public void WriteString(string value)
    {
        var max = Encoding.UTF8.GetMaxByteCount(value.Length);
        if (_buffer.Length - _length < 4 + max)
        {
            // Exact count only when the fast upper bound does not fit (keeps exact-size buffers exact).
            max = Encoding.UTF8.GetByteCount(value);
        }

        var lengthAt = _length;
        var target = Reserve(4 + max);
        var written = Encoding.UTF8.GetBytes(value, target[4..]);
        BinaryPrimitives.WriteUInt32BigEndian(target, (uint)written);
        _length = lengthAt + 4 + written;
    }

    /// <summary>
    /// Writes an <c>mpint</c> from an unsigned big-endian magnitude: leading zero bytes are
    /// stripped and a zero byte is prepended when the top bit is set (RFC 4251 section 5).
    /// </summary>
    public void WriteMPInt(scoped ReadOnlySpan<byte> unsignedBigEndian)
    {
        var start = 0;
        while (start < unsignedBigEndian.Length && unsignedBigEndian[start] == 0)
        {
            start++;
        }

        var magnitude = unsignedBigEndian[start..];
        var pad = magnitude.Length > 0 && (magnitude[0] & 0x80) != 0;
        WriteUInt32((uint)(magnitude.Length + (pad ? 1 : 0)));
        if (pad)
        {
            WriteByte(0);
        }

        WriteRaw(magnitude);
    }

    /// <summary>Starts a nested <c>string</c>; returns the position to pass to <see cref="EndString"/>.</summary>
    public int BeginString()
    {
        var at = _length;
        Reserve(4);
        return at;
    }

    /// <summary>Patches the length of the nested <c>string</c> begun at <paramref name="lengthPosition"/>.</summary>
    public readonly void EndString(int lengthPosition) =>
        BinaryPrimitives.WriteUInt32BigEndian(_buffer.Slice(lengthPosition, 4), (uint)(_length - lengthPosition - 4));

    /// <summary>Makes room for <paramref name="count"/> more bytes now, so that spans of <see cref="Written"/> stay valid while they are written.</summary>
    public void EnsureCapacity(int count)
    {
        if (_buffer.Length - _length < count)
        {
            Grow(count);
        }
    }

    /// <summary>Reserves <paramref name="count"/> bytes at the end and returns them for writing.</summary>
    public Span<byte> Reserve(int count)
    {
        if (_buffer.Length - _length < count)
        {
            Grow(count);
        }

        var span = _buffer.Slice(_length, count);
        _length += count;
        return span;
    }

    /// <summary>Zeroes the written bytes (for buffers that held secret material).</summary>
    public readonly void Clear() => System.Security.Cryptography.CryptographicOperations.ZeroMemory(_buffer[.._length]);

    public readonly byte[] ToArray() => _buffer[.._length].ToArray();

    public void Dispose()
    {
        if (_rented is not null)
        {
            ArrayPool<byte>.Shared.Return(_rented);
            _rented = null;
        }

        _buffer = default;
        _length = 0;
    }

    private void Grow(int count)
    {
        var next = ArrayPool<byte>.Shared.Rent(Math.Max(_buffer.Length * 2, _length + count + 256));
        _buffer[.._length].CopyTo(next);
        if (_rented is not null)
        {
            ArrayPool<byte>.Shared.Return(_rented);
        }

        _rented = next;
        _buffer = next;
    }
}
