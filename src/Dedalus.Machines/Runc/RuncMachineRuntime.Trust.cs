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

            var root = _options.UidMapBase;
            WriteOwnedFile(Path.Combine(_options.SshTrustDirectory, MachineSshd.UserCaKeysFileName), keys.ToString(), Mode0644, root);
            WriteOwnedFile(Path.Combine(_options.SshTrustDirectory, MachineSshd.RevokedKeysFileName), trust.RevokedKeys.Span, Mode0644, root);
            Log.SshTrustWritten(_logger, trust.UserCaPublicKeys.Count, trust.RevokedKeys.Length);
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
            var root = _options.UidMapBase;
            foreach (var name in new[] { MachineSshd.UserCaKeysFileName, MachineSshd.RevokedKeysFileName })
            {
                var path = Path.Combine(_options.SshTrustDirectory, name);
                if (!File.Exists(path))
                {
                    WriteOwnedFile(path, string.Empty, Mode0644, root);
                }
            }
        }
        finally
        {
            _trustLock.Release();
        }
    }

    private void PrepareTrustDirectory()
    {
        CreateDirectory(_options.DataDirectory, Mode0711);
        CreateDirectory(_options.SshTrustDirectory, Mode0755);
        Host.Ownership.Set(_options.SshTrustDirectory, _options.UidMapBase, _options.UidMapBase);
    }
}
