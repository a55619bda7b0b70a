using System.Diagnostics.CodeAnalysis;

namespace Dedalus.OpenSsh;

/// <summary>
/// The base exception of Dedalus.OpenSsh: input that is not a valid (or not an accepted) OpenSSH
/// key, certificate or private key file. The message names the problem and is safe to show to
/// the user who sent the input (it never contains secret material).
/// </summary>
public class SshFormatException : Exception
{
    public SshFormatException()
        : base("invalid OpenSSH data")
    {
    }

    public SshFormatException(string message)
        : base(message)
    {
    }

    public SshFormatException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    /// <summary>Runs <paramref name="read"/>; a <see cref="SshFormatException"/> becomes false and its message (the Try* pattern).</summary>
    internal static bool Try<T>(Func<T> read, [NotNullWhen(true)] out T? value, [NotNullWhen(false)] out string? error)
        where T : class
    {
        try
        {
            value = read();
            error = null;
            return true;
        }
        catch (SshFormatException ex)
        {
            value = null;
            error = ex.Message;
            return false;
        }
    }
}
