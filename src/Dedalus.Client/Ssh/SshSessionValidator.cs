using Dedalus.Contracts;

namespace Dedalus.Client.Ssh;

/// <summary>
/// Checks a ready session before any of its fields reach a file or an <c>ssh</c> argument: every text
/// non-empty and on one line (no CR, LF or NUL), the host pattern without whitespace, the port in 1..65535.
/// </summary>
internal static class SshSessionValidator
{
    public static void ThrowIfNotUsable(SshSession session)
    {
        var connection = session.Connection ?? throw Invalid(session, "connection is missing");
        var trust = connection.HostTrust ?? throw Invalid(session, "connection.host_trust is missing");
        SingleLine(session, connection.Endpoint, "connection.endpoint");
        SingleLine(session, connection.SshUsername, "connection.ssh_username");
        SingleLine(session, connection.UserCertificate, "connection.user_certificate");
        SingleLine(session, trust.HostPattern, "connection.host_trust.host_pattern");
        SingleLine(session, trust.PublicKey, "connection.host_trust.public_key");
        if (trust.HostPattern.Any(char.IsWhiteSpace))
        {
            throw Invalid(session, "connection.host_trust.host_pattern contains whitespace");
        }

        if (connection.Endpoint.Any(char.IsWhiteSpace) || connection.SshUsername.Any(char.IsWhiteSpace))
        {
            throw Invalid(session, "connection.endpoint or connection.ssh_username contains whitespace");
        }

        if (connection.Port is < 1 or > 65535)
        {
            throw Invalid(session, $"connection.port {connection.Port} is outside 1..65535");
        }
    }

    private static void SingleLine(SshSession session, string? value, string name)
    {
        if (string.IsNullOrWhiteSpace(value))
        {
            throw Invalid(session, name + " is empty");
        }

        if (value.Trim().AsSpan().IndexOfAny('\r', '\n', '\0') >= 0)
        {
            throw Invalid(session, name + " is not a single line");
        }
    }

    private static DedalusSshSessionException Invalid(SshSession session, string problem) =>
        new($"ssh session {session.SessionId} is ready but unusable: {problem}; this is a server bug", session);
}
