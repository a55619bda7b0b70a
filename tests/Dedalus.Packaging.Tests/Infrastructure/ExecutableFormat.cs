using System.Buffers.Binary;

namespace Dedalus.Packaging.Tests.Infrastructure;

/// <summary>
/// Names an executable's format and CPU from its first bytes, as each platform's loader reads them: ELF (e_ident, then
/// e_machine at 18), 64-bit Mach-O (magic 0xfeedfacf, then cputype), PE (MZ, the offset at 0x3C, "PE\0\0", then Machine).
/// </summary>
internal static class ExecutableFormat
{
    public static string Describe(ReadOnlySpan<byte> file)
    {
        if (file.Length >= 20 && file[..4].SequenceEqual("\u007fELF"u8) && file[4] == 2 && file[5] == 1)
        {
            return BinaryPrimitives.ReadUInt16LittleEndian(file[18..]) switch
            {
                62 => "ELF x86-64",
                183 => "ELF AArch64",
                var other => $"ELF machine {other}",
            };
        }

        if (file.Length >= 8 && BinaryPrimitives.ReadUInt32LittleEndian(file) == 0xFEEDFACF)
        {
            return BinaryPrimitives.ReadUInt32LittleEndian(file[4..]) switch
            {
                0x0100000C => "Mach-O arm64",
                0x01000007 => "Mach-O x86-64",
                var other => $"Mach-O cpu 0x{other:x}",
            };
        }

        if (file.Length >= 0x40 && file[..2].SequenceEqual("MZ"u8))
        {
            var offset = BinaryPrimitives.ReadInt32LittleEndian(file[0x3C..]);
            if (offset > 0 && offset + 6 <= file.Length && file.Slice(offset, 4).SequenceEqual("PE\0\0"u8))
            {
                return BinaryPrimitives.ReadUInt16LittleEndian(file[(offset + 4)..]) switch
                {
                    0x8664 => "PE x86-64",
                    0xAA64 => "PE arm64",
                    var other => $"PE machine 0x{other:x}",
                };
            }
        }

        return "unknown";
    }
}
