using System.Text;
using Dedalus.Machines.Runtime;
using Dedalus.Machines.Ssh;

namespace Dedalus.Machines.Runc;

public sealed partial class RuncMachineRuntime
{
    /// <inheritdoc />
    /// <remarks>
    /// Files are replaced by rename inside the directory that every machine bind-mounts read-only, so running machines
    /// see the new files at their next sshd.
    /// </remarks>
    public async Task WriteSshTrustAsync(MachineSshTrust trust, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(trust);
        await _trustLock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            PrepareTrustDirectory();
            var keys = new StringBuilder();
            foreach (var line in trust.UserCaPublicKeys)
            {
                if (line.Contains('\n', StringComparison.Ordinal))
                {
                    throw new ArgumentException("a user CA key is one line", nameof(trust));
                }

                keys.Append(line.Trim()).Append('\n');
            }

            WriteOwnedFile(Path.Combine(_options.SshTrustDirectory, MachineSshd.UserCaKeysFileName), keys.ToString(), Mode0644, TrustOwner);
            WriteOwnedFile(Path.Combine(_options.SshTrustDirectory, MachineSshd.RevokedKeysFileName), trust.RevokedKeys.Span, Mode0644, TrustOwner);
            RuncLog.SshTrustWritten(_logger, trust.UserCaPublicKeys.Count, trust.RevokedKeys.Length);
        }
        finally
        {
            _trustLock.Release();
        }
    }

    /// <summary>The trust directory with (at first) no CA and an empty revocation list: nobody logs in until trust is written.</summary>
    private async Task EnsureTrustDirectoryAsync(CancellationToken cancellationToken)
    {
        await _trustLock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            PrepareTrustDirectory();
            foreach (var name in new[] { MachineSshd.UserCaKeysFileName, MachineSshd.RevokedKeysFileName })
            {
                var path = Path.Combine(_options.SshTrustDirectory, name);
                if (!File.Exists(path))
                {
                    WriteOwnedFile(path, string.Empty, Mode0644, TrustOwner);
                }
                else
                {
                    // Files an earlier version gave to the mapped root.
                    Host.Ownership.Set(path, TrustOwner, TrustOwner);
                }
            }
        }
        finally
        {
            _trustLock.Release();
        }
    }

    /// <summary>
    /// Host root, not the mapped root, owns the trust: the mapped root (host uid <see cref="RuncRuntimeOptions.SharedUidBase"/>)
    /// is every machine's root, and any host process holding that uid (a setuid file a machine planted, a rootless
    /// container of a host user whose /etc/subuid range overlaps) could otherwise add a user CA to every machine.
    /// sshd only reads these files (no StrictModes check), which it can as "other" (they show as nobody inside).
    /// </summary>
    private const int TrustOwner = 0;

    private void PrepareTrustDirectory()
    {
        CreateDirectory(_options.DataDirectory, Mode0711);
        CreateDirectory(_options.SshTrustDirectory, Mode0755);
        Host.Ownership.Set(_options.SshTrustDirectory, TrustOwner, TrustOwner);
    }
}
