namespace Dedalus.OpenSsh.Tests.Support;

internal static class CertificateSpecs
{
    public static readonly DateTimeOffset Now = DateTimeOffset.FromUnixTimeSeconds(DateTimeOffset.UtcNow.ToUnixTimeSeconds());

    public static SshCertificateSpec Simple(SshPublicKey key, ulong serial = 7, string principal = "dm-test") => new()
    {
        Key = key,
        Type = SshCertificateType.User,
        Serial = serial,
        KeyId = $"session-{serial}",
        Principals = [principal],
        ValidAfter = Now.AddMinutes(-5),
        ValidBefore = Now.AddHours(1),
        Extensions = SshCertificateSpec.DefaultUserExtensions,
    };

    /// <summary>A spec with every field filled, including several critical options and unsorted extensions.</summary>
    public static SshCertificateSpec Full(SshPublicKey key, SshCertificateType type = SshCertificateType.User) => new()
    {
        Key = key,
        Type = type,
        Serial = 0xFEDC_BA98_7654_3210,
        KeyId = "sess_01HZY key id with spaces/é",
        Principals = ["dm-8f14e45f-ceea-467f-a0e6-0d8b3f2a9c11", "machine", "second.example.test"],
        ValidAfter = Now.AddSeconds(-90),
        ValidBefore = Now.AddHours(2),
        CriticalOptions = new Dictionary<string, string>
        {
            ["source-address"] = "127.0.0.1/32,10.0.0.0/8",
            ["force-command"] = "/usr/bin/printf 'hello world'",
            ["verify-required"] = string.Empty,
        },
        Extensions = ["permit-user-rc", "permit-pty", "permit-agent-forwarding", "permit-port-forwarding", "no-touch-required"],
    };
}
