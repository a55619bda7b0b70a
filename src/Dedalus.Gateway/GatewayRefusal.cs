namespace Dedalus.Gateway;

/// <summary>Why the gateway turns a connection away before sshd starts: the audit's end, the SSH reason code, the words.</summary>
/// <param name="End">The audit's end reason.</param>
/// <param name="Reason">The SSH_MSG_DISCONNECT reason code the client gets.</param>
/// <param name="Detail">One sentence for the client, the log and the audit (no secrets).</param>
internal readonly record struct GatewayRefusal(GatewayConnectionEnd End, SshDisconnectReason Reason, string Detail);
