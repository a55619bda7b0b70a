using Dedalus.OpenSsh.Wire;

namespace Dedalus.OpenSsh.Tests;

public sealed class WireEncodingTests
{
    [Theory]
    [InlineData(new byte[] { 0x80 }, new byte[] { 0, 0, 0, 2, 0, 0x80 })]
    [InlineData(new byte[] { 0x00, 0x00, 0x01 }, new byte[] { 0, 0, 0, 1, 1 })]
    [InlineData(new byte[] { 0x7F, 0xFF }, new byte[] { 0, 0, 0, 2, 0x7F, 0xFF })]
    [InlineData(new byte[] { }, new byte[] { 0, 0, 0, 0 })]
    [InlineData(new byte[] { 0, 0 }, new byte[] { 0, 0, 0, 0 })]
    public void An_mpint_is_written_minimally_with_a_zero_byte_before_a_set_top_bit(byte[] magnitude, byte[] expected)
    {
        var writer = new SshWireWriter(stackalloc byte[16]);
        writer.WriteMPInt(magnitude);

        Assert.Equal(expected, writer.ToArray());
        writer.Dispose();
    }

    [Fact]
    public void A_positive_mpint_reads_back_without_leading_zeros()
    {
        var reader = new SshWireReader([0, 0, 0, 3, 0, 0x80, 0x01]);

        var value = reader.ReadPositiveMPInt("value", 8).ToArray();

        Assert.Equal(new byte[] { 0x80, 0x01 }, value);
        Assert.True(reader.IsEmpty);
    }

    [Fact]
    public void A_negative_mpint_is_refused()
    {
        AssertRefused([0, 0, 0, 1, 0x80], (ref SshWireReader reader) => reader.ReadPositiveMPInt("RSA modulus", 8), "RSA modulus is negative");
    }

    [Fact]
    public void A_string_longer_than_the_data_is_refused_naming_the_field()
    {
        AssertRefused([0xFF, 0xFF, 0xFF, 0xFF, 1, 2], (ref SshWireReader reader) => reader.ReadString("key id"), "key id is truncated (declares 4294967295 bytes, 2 left)");
    }

    [Fact]
    public void Invalid_utf8_in_a_text_field_is_refused()
    {
        AssertRefused([0, 0, 0, 2, 0xC3, 0x28], (ref SshWireReader reader) => reader.ReadUtf8("principal"), "principal is not valid UTF-8");
    }

    [Fact]
    public void The_writer_grows_past_its_stack_buffer_and_keeps_what_it_wrote()
    {
        var writer = new SshWireWriter(stackalloc byte[8]);
        var nested = writer.BeginString();
        for (uint i = 0; i < 1000; i++)
        {
            writer.WriteUInt32(i);
        }

        writer.EndString(nested);
        var bytes = writer.ToArray();
        writer.Dispose();

        var reader = new SshWireReader(bytes);
        var inner = new SshWireReader(reader.ReadString("list"));
        for (uint i = 0; i < 1000; i++)
        {
            Assert.Equal(i, inner.ReadUInt32("item"));
        }

        Assert.True(reader.IsEmpty);
    }

    [Fact]
    public void A_utf8_string_fits_an_exactly_sized_buffer()
    {
        var buffer = new byte[4 + 5];
        var writer = new SshWireWriter(buffer);

        writer.WriteString("héll");

        Assert.Equal(new byte[] { 0, 0, 0, 5, (byte)'h', 0xC3, 0xA9, (byte)'l', (byte)'l' }, buffer);
    }

    private delegate void ReadField(ref SshWireReader reader);

    /// <summary>Reading <paramref name="data"/> fails with exactly <paramref name="message"/>.</summary>
    private static void AssertRefused(byte[] data, ReadField read, string message)
    {
        var ex = Assert.Throws<SshFormatException>(() =>
        {
            var reader = new SshWireReader(data);
            read(ref reader);
        });

        Assert.Equal(message, ex.Message);
    }
}
