namespace Dedalus.OpenSsh;

/// <summary>What a certificate authority signs: the fields of a certificate except nonce and signature.</summary>
public sealed record SshCertificateSpec
{
    /// <summary>
    /// The usual user certificate extensions: permit-agent-forwarding, permit-port-forwarding,
    /// permit-pty, permit-user-rc (permit-X11-forwarding deliberately left out).
    /// </summary>
    public static IReadOnlyList<string> DefaultUserExtensions { get; } =
        ["permit-agent-forwarding", "permit-port-forwarding", "permit-pty", "permit-user-rc"];

    /// <summary>The subject key the certificate is for.</summary>
    public required SshPublicKey Key { get; init; }

    public required SshCertificateType Type { get; init; }

    public required ulong Serial { get; init; }

    /// <summary>The key id (free text; sshd logs it, a KRL can revoke by it).</summary>
    public required string KeyId { get; init; }

    /// <summary>User names (user certificates) or host names (host certificates). An empty list means "any" to OpenSSH.</summary>
    public required IReadOnlyList<string> Principals { get; init; }

    /// <summary>Start of validity (whole seconds; earlier than the Unix epoch means "always").</summary>
    public required DateTimeOffset ValidAfter { get; init; }

    /// <summary>End of validity (whole seconds; <see cref="DateTimeOffset.MaxValue"/> means "forever").</summary>
    public required DateTimeOffset ValidBefore { get; init; }

    /// <summary>Critical options by name (e.g. force-command, source-address); an empty value encodes a flag option.</summary>
    public IReadOnlyDictionary<string, string> CriticalOptions { get; init; } = new Dictionary<string, string>();

    /// <summary>Extension names (all with empty values), written sorted.</summary>
    public IReadOnlyList<string> Extensions { get; init; } = [];
}
