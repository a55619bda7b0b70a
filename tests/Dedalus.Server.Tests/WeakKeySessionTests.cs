using System.Buffers.Binary;
using System.Net;
using System.Text;
using Dedalus.Contracts;
using Dedalus.Server.Store;
using Dedalus.Server.Tests.Infrastructure;

namespace Dedalus.Server.Tests;

/// <summary>
/// Issue #10, point 5, against the real server: a key anyone could sign for (a small-order Ed25519 point) or that is no
/// SSH key (a security key of a web origin) gets no certificate: 400 naming the problem, and no session is stored.
/// </summary>
public sealed class WeakKeySessionTests : ServerTestBase
{
    [Theory]
    [InlineData("ssh-ed25519", "0000000000000000000000000000000000000000000000000000000000000000", null, "small-order point (order 4;")]
    [InlineData("ssh-ed25519", "0100000000000000000000000000000000000000000000000000000000000000", null, "small-order point (order 1;")]
    [InlineData("ssh-ed25519", "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a", null, "small-order point (order 8;")]
    [InlineData("ssh-ed25519", "edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f", null, "not a canonical point encoding")]
    [InlineData("sk-ssh-ed25519@openssh.com", "0000000000000000000000000000000000000000000000000000000000000000", "ssh:", "small-order point")]
    [InlineData("sk-ssh-ed25519@openssh.com", "6f1942a3f0f40e1315d55ba6024cc99521f12ce29022dbf127829e2fb67842b6", "https://example.com", "does not start with 'ssh:'")]
    public async Task A_weak_or_foreign_key_is_400_naming_the_problem_and_gets_no_certificate(string type, string pkHex, string? application, string named)
    {
        var machine = await Api.CreateRunningMachineAsync();
        var line = KeyLine(type, Convert.FromHexString(pkHex), application);

        var response = await Api.OpenSessionAsync(machine.MachineId, line);

        Assert.Equal(HttpStatusCode.BadRequest, response.Status);
        var error = response.Error();
        Assert.Equal(ErrorCodes.InvalidRequest, error.ErrorCode);
        Assert.Equal("public_key", error.Details![ErrorDetailKeys.Field]);
        Assert.StartsWith("public_key: ", error.Message, StringComparison.Ordinal);
        Assert.Contains(named, error.Message, StringComparison.Ordinal);
        Assert.Empty((await Api.GetAsync($"/v1/machines/{machine.MachineId}/ssh")).SessionList().Items);
        Assert.Empty((await Server.Service<IStore>().ListSessionsAsync(machine.StoreId(), 0, 10)).Items);
    }

    [Fact]
    public async Task The_same_point_as_a_security_key_for_ssh_gets_a_certificate()
    {
        // The public half of TestKeys.Ed25519 (a key from ssh-keygen), as an sk-ssh-ed25519 key for "ssh:".
        var machine = await Api.CreateRunningMachineAsync();
        var pk = Convert.FromBase64String(TestKeys.Ed25519.Split(' ')[1])[^32..];

        var response = await Api.OpenSessionAsync(machine.MachineId, KeyLine("sk-ssh-ed25519@openssh.com", pk, "ssh:"));

        Assert.Equal(HttpStatusCode.OK, response.Status);
        Assert.StartsWith("sk-ssh-ed25519-cert-v01@openssh.com ", response.Session().Connection!.UserCertificate, StringComparison.Ordinal);
    }

    /// <summary>A key line: string type, string pk, and for a security key string application (PROTOCOL.u2f).</summary>
    private static string KeyLine(string type, byte[] pk, string? application)
    {
        using var blob = new MemoryStream();
        WriteString(blob, Encoding.ASCII.GetBytes(type));
        WriteString(blob, pk);
        if (application is not null)
        {
            WriteString(blob, Encoding.UTF8.GetBytes(application));
        }

        return type + " " + Convert.ToBase64String(blob.ToArray());
    }

    private static void WriteString(Stream stream, byte[] value)
    {
        Span<byte> length = stackalloc byte[4];
        BinaryPrimitives.WriteUInt32BigEndian(length, (uint)value.Length);
        stream.Write(length);
        stream.Write(value);
    }
}
