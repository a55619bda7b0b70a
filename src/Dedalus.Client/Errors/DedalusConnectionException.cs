namespace Dedalus.Client;

/// <summary>The API could not be reached, or did not answer in time, after every retry.</summary>
public sealed class DedalusConnectionException : DedalusException
{
    /// <summary>Creates the exception.</summary>
    /// <param name="message">What failed and what to check.</param>
    /// <param name="isTimeout">Whether the attempt timed out (rather than failing to connect).</param>
    /// <param name="innerException">The transport error.</param>
    public DedalusConnectionException(string message, bool isTimeout, Exception? innerException = null)
        : base(message, innerException)
    {
        IsTimeout = isTimeout;
    }

    /// <summary>Whether the last attempt timed out rather than failing to connect.</summary>
    public bool IsTimeout { get; }
}
