using Dedalus.Contracts;

namespace Dedalus.Client;

/// <summary>
/// An SSH session cannot be used: it ended (<c>closed</c>, <c>expired</c>, <c>failed</c>), the server sent
/// an unusable answer, or it did not become ready in time.
/// </summary>
public sealed class DedalusSshSessionException : DedalusException
{
    /// <summary>Creates the exception.</summary>
    /// <param name="message">What happened and what to do next.</param>
    /// <param name="session">The last state of the session seen.</param>
    /// <param name="isTimeout">Whether the session did not become ready in time.</param>
    public DedalusSshSessionException(string message, SshSession? session, bool isTimeout = false)
        : base(message)
    {
        Session = session;
        IsTimeout = isTimeout;
    }

    /// <summary>The last state of the session seen, if any.</summary>
    public SshSession? Session { get; }

    /// <summary>The session's status (<c>failed</c>, <c>expired</c>, <c>closed</c>, ...), if known.</summary>
    public string? Status => Session?.Status;

    /// <summary>The server's <c>error_code</c> for a failed session.</summary>
    public string? ErrorCode => Session?.ErrorCode;

    /// <summary>Whether the session did not become ready within the wait's timeout.</summary>
    public bool IsTimeout { get; }
}
