namespace Dedalus.Client;

/// <summary>Base of every exception the Dedalus client throws.</summary>
public class DedalusException : Exception
{
    /// <summary>Creates an exception with a message.</summary>
    /// <param name="message">What went wrong and what to do next.</param>
    /// <param name="innerException">The underlying cause, if any.</param>
    public DedalusException(string message, Exception? innerException = null)
        : base(message, innerException)
    {
    }
}
