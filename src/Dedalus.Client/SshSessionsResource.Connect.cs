using System.Text;
using Dedalus.Client.Ssh;
using Renci.SshNet;
using Renci.SshNet.Common;

namespace Dedalus.Client;

public sealed partial class SshSessionsResource
{
    /// <summary>
    /// Opens an SSH.NET connection to a machine: generates an ephemeral Ed25519 key, creates a session (waking the
    /// machine), waits until it is ready, and connects with the session's certificate. The host must present a
    /// certificate from the session's host CA that names the endpoint; anything else is refused (no trust on
    /// first use). Nothing is written to disk.
    /// </summary>
    /// <param name="machineId">The machine id (<c>dm-&lt;uuid&gt;</c> or the bare uuid).</param>
    /// <param name="readyTimeout">How long to wait for the session to become ready; 2 minutes when <see langword="null"/>.</param>
    /// <param name="cancellationToken">Cancels the session wait and the connection.</param>
    /// <returns>A connected <see cref="SshClient"/>; the caller disposes it.</returns>
    /// <exception cref="DedalusSshSessionException">The session did not become usable, or the host failed verification.</exception>
    public async Task<SshClient> ConnectAsync(string machineId, TimeSpan? readyTimeout = null, CancellationToken cancellationToken = default)
    {
        // Its Ed25519 key is one SSH.NET reads intact (SshPublicKey.IsMisreadBySignedIntegerParsers).
        var keyPair = SshKeyPair.GenerateEd25519();
        var session = await CreateAsync(machineId, keyPair.PublicKey, cancellationToken).ConfigureAwait(false);
        session = await WaitUntilReadyAsync(session, readyTimeout, null, cancellationToken).ConfigureAwait(false);
        var connection = session.Connection!;

        using var keyStream = new MemoryStream(Encoding.UTF8.GetBytes(keyPair.PrivateKey));
        using var certificateStream = new MemoryStream(Encoding.UTF8.GetBytes(connection.UserCertificate!.Trim() + "\n"));
        var keyFile = new PrivateKeyFile(keyStream, null, certificateStream);
        var user = connection.SshUsername.Trim();
        var info = new ConnectionInfo(connection.Endpoint.Trim(), (int)connection.Port, user, new PrivateKeyAuthenticationMethod(user, keyFile))
        {
            Timeout = _requester.Options.Timeout,
        };

        var verifier = new HostCertificateVerifier(connection, _requester.TimeProvider);
        // SSH.NET offers certificate host-key algorithms first; the verifier refuses a host without a certificate.
        // (Removing the plain algorithms is not an option: SSH.NET verifies a certificate's signature through them.)
        var client = new SshClient(info);
        client.HostKeyReceived += (_, e) => e.CanTrust = verifier.Verify(e.HostKeyName, e.Certificate);
        try
        {
            await client.ConnectAsync(cancellationToken).ConfigureAwait(false);
            return client;
        }
        catch (Exception e) when (e is SshException or System.Net.Sockets.SocketException or ProxyException)
        {
            client.Dispose();
            var reason = verifier.Failure is { } failure
                ? "host verification failed: " + failure
                : e.Message;
            throw new DedalusSshSessionException(
                $"cannot connect to {user}@{connection.Endpoint}:{connection.Port} for ssh session {session.SessionId}: {reason}",
                session);
        }
        catch
        {
            client.Dispose();
            throw;
        }
    }
}
