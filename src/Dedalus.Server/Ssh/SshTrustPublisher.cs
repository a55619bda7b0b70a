using Dedalus.Machines.Runtime;
using Dedalus.OpenSsh;
using Dedalus.Server.Hosting;
using Dedalus.Server.Store;

namespace Dedalus.Server.Ssh;

/// <summary>
/// Publishes the host-wide SSH trust to the runtime and to <c>&lt;data-dir&gt;/ssh/revoked_keys</c>: the user CAs
/// machines trust (the current one, and each retired one until its overlap ends) and the KRL of revoked session serials,
/// with a certificate section per trusted CA, so that a session of the old CA deleted during an overlap is refused
/// too. Publishes are serialised; each carries a higher KRL version. A new user CA signs nothing before machines
/// trust it: <see cref="SigningKeysAsync"/> publishes first.
/// </summary>
public sealed class SshTrustPublisher(
    IStore store,
    SshAuthority authority,
    IMachineRuntime runtime,
    ServerOptions options,
    TimeProvider timeProvider,
    ILogger<SshTrustPublisher> logger)
{
    private readonly SemaphoreSlim _gate = new(1, 1);
    private ulong _version;
    private CaKeys? _published;
    private IReadOnlyList<SshPublicKey> _trusted = [];

    public string RevokedKeysPath => Path.Combine(options.DataDirectory, "ssh", "revoked_keys");

    /// <summary>The user CAs machines trust, as last published (none before the first publish).</summary>
    public IReadOnlyList<SshPublicKey> TrustedUserCas => Volatile.Read(ref _trusted);

    /// <summary>Whether anything has been published yet by this process.</summary>
    public bool HasPublished => Volatile.Read(ref _published) is not null;

    public async Task PublishAsync(CancellationToken cancellationToken = default)
    {
        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var now = timeProvider.GetUtcNow();
            var keys = authority.Current;
            var trusted = keys.TrustedUserCas(now);
            var serials = await store.ListRevokedSerialsAsync(now, cancellationToken).ConfigureAwait(false);
            _version = Math.Max(_version + 1, (ulong)now.ToUnixTimeMilliseconds());
            var krl = BuildRevocationList(trusted, serials, _version, now);
            Directory.CreateDirectory(Path.GetDirectoryName(RevokedKeysPath)!);
            var temporary = RevokedKeysPath + ".tmp";
            await File.WriteAllBytesAsync(temporary, krl, cancellationToken).ConfigureAwait(false);
            File.Move(temporary, RevokedKeysPath, overwrite: true);
            await runtime.WriteSshTrustAsync(
                new MachineSshTrust([.. trusted.Select(k => k.ToOpenSshString(CaFiles.UserCaComment))], krl), cancellationToken).ConfigureAwait(false);
            if (!trusted.SequenceEqual(_trusted))
            {
                ServerLog.TrustedUserCasChanged(logger, string.Join(", ", trusted.Select(k => k.Fingerprint)));
            }

            Volatile.Write(ref _trusted, trusted);
            Volatile.Write(ref _published, keys);
            ServerLog.TrustPublished(logger, serials.Count, _version);
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>
    /// Publishes when the user CAs machines should trust now differ from what was published: a rotation replaced the
    /// user CA, or a retired CA's overlap ended. The maintenance sweep calls it; true when it published.
    /// </summary>
    public async Task<bool> PublishIfChangedAsync(CancellationToken cancellationToken = default)
    {
        if (Volatile.Read(ref _published) is not null && authority.Current.TrustedUserCas(timeProvider.GetUtcNow()).SequenceEqual(TrustedUserCas))
        {
            return false;
        }

        await PublishAsync(cancellationToken).ConfigureAwait(false);
        return true;
    }

    /// <summary>
    /// The keys to sign a session certificate with: ones whose user CA machines already trust. When the CA files hold a
    /// user CA not yet published (a rotation just landed), the trust is published first, so the first certificate the
    /// new CA signs already logs in.
    /// </summary>
    public async Task<CaKeys> SigningKeysAsync(CancellationToken cancellationToken = default)
    {
        var current = authority.Current;
        if (Volatile.Read(ref _published) is { } published && published.UserCa.Equals(current.UserCa))
        {
            return current;
        }

        await PublishAsync(cancellationToken).ConfigureAwait(false);
        return Volatile.Read(ref _published)!;
    }

    /// <summary>An OpenSSH KRL revoking <paramref name="serials"/> under each of <paramref name="trustedUserCas"/> (serials are random 64-bit numbers, unique across CAs).</summary>
    public static byte[] BuildRevocationList(IReadOnlyList<SshPublicKey> trustedUserCas, IEnumerable<ulong> serials, ulong version, DateTimeOffset now)
    {
        var builder = new SshKeyRevocationListBuilder(trustedUserCas);
        foreach (var serial in serials)
        {
            builder.RevokeSerial(serial);
        }

        return builder.Build(version, now);
    }
}
