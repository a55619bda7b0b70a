using System.Text;
using Dedalus.Machines.Runtime;
using Dedalus.Machines.Ssh;

namespace Dedalus.Machines.Runc;

public sealed partial class RuncMachineRuntime
{
    /// <inheritdoc />
    /// <remarks>
    /// The machine sees <c>&lt;machine&gt;/ssh/</c> through a read-only bind mount of the directory (not of each file), so
    /// a file replaced by rename inside it shows in a running machine at its next sshd. Both files are staged first
    /// (key 0600, certificate 0644, owned by the machine's root as sshd's StrictModes wants) and then renamed one after
    /// the other, key first: the window in which an sshd could read the new key with the old certificate (it would then
    /// offer a plain key, which every client of ours refuses) is two renames wide.
    /// </remarks>
    public async Task InstallHostIdentityAsync(string machineId, MachineSshMaterial material, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(material);
        var paths = PathsOf(machineId);
        using var held = await LockAsync(machineId, cancellationToken).ConfigureAwait(false);
        if (!File.Exists(paths.Record) || !Directory.Exists(paths.Ssh))
        {
            throw new MachineNotFoundException(machineId);
        }

        const UnixFileMode Mode0600 = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        var root = UidBaseOf(ReadRecord(machineId, paths));
        var keyPath = Path.Combine(paths.Ssh, MachineSshd.HostKeyFileName);
        var certificatePath = Path.Combine(paths.Ssh, MachineSshd.HostCertificateFileName);
        var stagedKey = StageOwnedFile(keyPath, Encoding.UTF8.GetBytes(WithNewline(material.HostPrivateKey)), Mode0600, root);
        string stagedCertificate;
        try
        {
            stagedCertificate = StageOwnedFile(certificatePath, Encoding.UTF8.GetBytes(WithNewline(material.HostCertificate)), Mode0644, root);
        }
        catch
        {
            File.Delete(stagedKey);
            throw;
        }

        File.Move(stagedKey, keyPath, overwrite: true);
        File.Move(stagedCertificate, certificatePath, overwrite: true);
    }
}
