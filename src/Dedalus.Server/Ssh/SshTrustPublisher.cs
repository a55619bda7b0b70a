using Dedalus.Machines.Runtime;
using Dedalus.Server.Hosting;
using Dedalus.Server.Store;

namespace Dedalus.Server.Ssh;

/// <summary>
/// Publishes the host-wide SSH trust (user CA key and the KRL of revoked session serials) to the runtime
/// and to <c>&lt;data-dir&gt;/ssh/revoked_keys</c>. Publishes are serialised; each carries a higher KRL version.
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

    public string RevokedKeysPath => Path.Combine(options.DataDirectory, "ssh", "revoked_keys");

    public async Task PublishAsync(CancellationToken cancellationToken = default)
    {
        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var now = timeProvider.GetUtcNow();
            var serials = await store.ListRevokedSerialsAsync(now, cancellationToken).ConfigureAwait(false);
            _version = Math.Max(_version + 1, (ulong)now.ToUnixTimeMilliseconds());
            var krl = authority.BuildRevocationList(serials, _version, now);
            Directory.CreateDirectory(Path.GetDirectoryName(RevokedKeysPath)!);
            var temporary = RevokedKeysPath + ".tmp";
            await File.WriteAllBytesAsync(temporary, krl, cancellationToken).ConfigureAwait(false);
            File.Move(temporary, RevokedKeysPath, overwrite: true);
            await runtime.WriteSshTrustAsync(new MachineSshTrust([authority.UserCaPublicKey], krl), cancellationToken).ConfigureAwait(false);
            ServerLog.TrustPublished(logger, serials.Count, _version);
        }
        finally
        {
            _gate.Release();
        }
    }
}
