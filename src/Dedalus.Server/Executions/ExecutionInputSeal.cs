using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;
using Dedalus.Server.Ssh;
using Dedalus.Server.Store;

namespace Dedalus.Server.Executions;

/// <summary>
/// Seals what an execution's create request holds that is never stored in clear (stdin, the values of env, whether a
/// cwd was given), for the one case where it must cross the store: a create that reaches a node which does not own
/// the machine. The owner claims the execution, opens the seal and deletes it in the same write.
/// </summary>
/// <remarks>
/// AES-256-GCM with a key derived (HKDF-SHA256, <see cref="ServerSecret.Derive"/>) from the server secret that every
/// node shares through the CA directory, under its own purpose, so the key opens nothing else and no other key opens
/// it. The execution id is the associated data: a sealed input moved to another execution's row does not open. The
/// database alone (a dump, a replica) therefore never gives the input away.
/// <code>
/// sealed    = version (1 byte, 1) | nonce (12) | ciphertext | tag (16)
/// plaintext = flags (1 byte: 1 = cwd given) | [cwd] | env count (u32) | { name | value }* | stdin
///             where a string is a u32 big-endian byte length then its UTF-8 bytes, and stdin a length then its bytes
/// </code>
/// </remarks>
public sealed class ExecutionInputSeal
{
    /// <summary>The HKDF info of the sealing key: changing it would leave every sealed input in flight unopenable.</summary>
    public const string Purpose = "dedalus execution input v1";

    private const byte Version = 1;
    private const int NonceLength = 12;
    private const int TagLength = 16;
    private const byte CwdGiven = 1;
    private readonly byte[] _key;

    public ExecutionInputSeal(ServerSecret secret) => _key = secret.Derive(Purpose);

    /// <summary>The sealed form of <paramref name="input"/>'s unstored parts, bound to <paramref name="executionId"/>.</summary>
    public byte[] Seal(string executionId, ExecutionInput input)
    {
        var plaintext = Encode(input);
        var result = new byte[1 + NonceLength + plaintext.Length + TagLength];
        result[0] = Version;
        var nonce = result.AsSpan(1, NonceLength);
        RandomNumberGenerator.Fill(nonce);
        using var aes = new AesGcm(_key, TagLength);
        aes.Encrypt(nonce, plaintext, result.AsSpan(1 + NonceLength, plaintext.Length), result.AsSpan(1 + NonceLength + plaintext.Length), Encoding.UTF8.GetBytes(executionId));
        CryptographicOperations.ZeroMemory(plaintext);
        return result;
    }

    /// <summary>
    /// The input of <paramref name="execution"/> (its command and timeout from the row, the rest from the seal); null
    /// when <paramref name="sealedInput"/> was not sealed for this execution with this cluster's secret, or is damaged.
    /// </summary>
    public ExecutionInput? Open(ExecutionRecord execution, ReadOnlySpan<byte> sealedInput)
    {
        if (sealedInput.Length < 1 + NonceLength + TagLength || sealedInput[0] != Version)
        {
            return null;
        }

        var ciphertext = sealedInput[(1 + NonceLength)..^TagLength];
        var plaintext = new byte[ciphertext.Length];
        try
        {
            using var aes = new AesGcm(_key, TagLength);
            aes.Decrypt(sealedInput.Slice(1, NonceLength), ciphertext, sealedInput[^TagLength..], plaintext, Encoding.UTF8.GetBytes(execution.Id));
            return Decode(execution, plaintext);
        }
        catch (AuthenticationTagMismatchException)
        {
            return null;
        }
        finally
        {
            CryptographicOperations.ZeroMemory(plaintext);
        }
    }

    private static byte[] Encode(ExecutionInput input)
    {
        using var buffer = new MemoryStream();
        buffer.WriteByte(input.Cwd is null ? (byte)0 : CwdGiven);
        if (input.Cwd is not null)
        {
            WriteBytes(buffer, Encoding.UTF8.GetBytes(input.Cwd));
        }

        WriteLength(buffer, input.Env.Count);
        foreach (var (name, value) in input.Env)
        {
            WriteBytes(buffer, Encoding.UTF8.GetBytes(name));
            WriteBytes(buffer, Encoding.UTF8.GetBytes(value));
        }

        WriteBytes(buffer, input.Stdin);
        return buffer.ToArray();
    }

    /// <summary>Reads the plaintext; it was authenticated, so a malformed one is a bug of this class, not bad input.</summary>
    private static ExecutionInput Decode(ExecutionRecord execution, ReadOnlySpan<byte> plaintext)
    {
        var flags = plaintext[0];
        plaintext = plaintext[1..];
        string? cwd = null;
        if ((flags & CwdGiven) != 0)
        {
            cwd = Encoding.UTF8.GetString(ReadBytes(ref plaintext));
        }

        var count = ReadLength(ref plaintext);
        var env = new Dictionary<string, string>(count, StringComparer.Ordinal);
        for (var i = 0; i < count; i++)
        {
            var name = Encoding.UTF8.GetString(ReadBytes(ref plaintext));
            env[name] = Encoding.UTF8.GetString(ReadBytes(ref plaintext));
        }

        var stdin = ReadBytes(ref plaintext).ToArray();
        return plaintext.IsEmpty
            ? new ExecutionInput(execution.Command, cwd, env, stdin, execution.TimeoutMs)
            : throw new InvalidDataException($"the sealed input of execution {execution.Id} has {plaintext.Length} bytes past its end");
    }

    private static void WriteLength(MemoryStream buffer, int length)
    {
        Span<byte> prefix = stackalloc byte[4];
        BinaryPrimitives.WriteUInt32BigEndian(prefix, (uint)length);
        buffer.Write(prefix);
    }

    private static void WriteBytes(MemoryStream buffer, ReadOnlySpan<byte> bytes)
    {
        WriteLength(buffer, bytes.Length);
        buffer.Write(bytes);
    }

    private static int ReadLength(ref ReadOnlySpan<byte> span)
    {
        var length = BinaryPrimitives.ReadUInt32BigEndian(span);
        span = span[4..];
        return length <= int.MaxValue ? (int)length : throw new InvalidDataException("a length in a sealed input is out of range");
    }

    private static ReadOnlySpan<byte> ReadBytes(ref ReadOnlySpan<byte> span)
    {
        var length = ReadLength(ref span);
        var bytes = span[..length];
        span = span[length..];
        return bytes;
    }
}
