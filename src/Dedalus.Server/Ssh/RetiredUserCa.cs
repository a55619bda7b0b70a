using Dedalus.OpenSsh;

namespace Dedalus.Server.Ssh;

/// <summary>
/// A user CA replaced by <c>dedalus-server ca rotate --user</c>: its public key, which machines keep trusting until
/// <paramref name="TrustedUntil"/> so that certificates it signed before the rotation keep working (the overlap). Its
/// private key is gone: it signs nothing again.
/// </summary>
/// <param name="Key">The retired CA's public key.</param>
/// <param name="TrustedUntil">The end of the overlap: from then on machines refuse its certificates.</param>
public sealed record RetiredUserCa(SshPublicKey Key, DateTimeOffset TrustedUntil)
{
    /// <summary>How <c>user_ca.retired</c> writes the time: UTC to the millisecond.</summary>
    public const string TimeFormat = "yyyy-MM-dd'T'HH:mm:ss.fff'Z'";

    /// <summary>Whether machines still trust it at <paramref name="now"/>.</summary>
    public bool IsTrustedAt(DateTimeOffset now) => now < TrustedUntil;
}
