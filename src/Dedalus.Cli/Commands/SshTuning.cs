namespace Dedalus.Cli.Commands;

/// <summary>
/// OpenSSH options <c>dedalus ssh</c> adds after the user's own (the first value of an option wins in ssh, so a user's
/// <c>-o</c> overrides these) and after the fixed host-checking ones (<c>StrictHostKeyChecking=yes</c>, our known_hosts
/// with the session's <c>@cert-authority</c> line only, <c>GlobalKnownHostsFile=/dev/null</c>, <c>IdentitiesOnly=yes</c>),
/// which come first and cannot be overridden. None of them weakens host checking; each saves work or closes a door:
/// <list type="bullet">
/// <item><c>HostKeyAlgorithms=ssh-ed25519-cert-v01@openssh.com</c>: the machines' host keys are Ed25519 keys with a
/// certificate from the machine's host CA; offering only that algorithm means no plain host key is ever considered.</item>
/// <item><c>ControlMaster=no</c>, <c>ControlPath=none</c>: a <c>ControlMaster auto</c> in the user's config must not
/// multiplex this session onto another connection to the same gateway address (another machine, another
/// certificate).</item>
/// <item><c>IdentityAgent=none</c>: the agent is not asked for keys (IdentitiesOnly already keeps its keys from being
/// offered). Left out with <c>-A</c>: ssh unsets SSH_AUTH_SOCK for <c>none</c>, which would leave nothing to forward.</item>
/// <item><c>UpdateHostKeys=no</c>: the server's other host keys are never written into the session's known_hosts.</item>
/// <item><c>GSSAPIAuthentication=no</c>, <c>CanonicalizeHostname=no</c>, <c>CheckHostIP=no</c>: no Kerberos, no DNS
/// rewriting of the gateway's name, no second known_hosts lookup by address (the host is verified by its CA).</item>
/// </list>
/// Measured against bare ssh with and without them: no difference beyond noise on this host (the key exchange, the
/// gateway's start of sshd and the login dominate), so they are kept for what they close, not for speed. The post-quantum
/// key exchange (sntrup761x25519) stays: <c>-o KexAlgorithms=curve25519-sha256</c> roughly halves a bare ssh's time
/// here, but gives up protection of recorded sessions against a future quantum computer, so it is the user's choice.
/// </summary>
internal static class SshTuning
{
    /// <summary>The options to add after <paramref name="userOptions"/> (the pass-through flags and values).</summary>
    public static IReadOnlyList<string> For(IReadOnlyList<string> userOptions) =>
        userOptions.Contains("-A") ? [.. Options.Where((_, i) => Options[i - (i % 2) + 1] != "IdentityAgent=none")] : Options;

    /// <summary>All of them, as pairs of <c>-o</c> and <c>Name=value</c>.</summary>
    public static readonly IReadOnlyList<string> Options =
    [
        "-o", "HostKeyAlgorithms=ssh-ed25519-cert-v01@openssh.com",
        "-o", "ControlMaster=no",
        "-o", "ControlPath=none",
        "-o", "IdentityAgent=none",
        "-o", "UpdateHostKeys=no",
        "-o", "GSSAPIAuthentication=no",
        "-o", "CanonicalizeHostname=no",
        "-o", "CheckHostIP=no",
    ];
}
