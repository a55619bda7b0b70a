using Dedalus.Contracts;
using Dedalus.OpenSsh;
using Renci.SshNet.Security;

namespace Dedalus.Client.Ssh;

/// <summary>
/// Strict host verification for SSH.NET against a session's <c>host_trust</c>, as OpenSSH does with an
/// <c>@cert-authority</c> line: the server must present a host certificate (a plain host key is refused) signed by
/// the trusted host CA, of type host, valid now, naming the endpoint as a principal; and the endpoint must match
/// the trust's host pattern. SSH.NET itself verifies the certificate's signature with the key the certificate
/// names (its <c>CertificateHostAlgorithm</c>) before raising <c>HostKeyReceived</c>; this class decides whether
/// that key is the trusted CA, comparing keys with the team's OpenSSH library.
/// </summary>
internal sealed class HostCertificateVerifier(SshConnection connection, TimeProvider timeProvider)
{
    public string? Failure { get; private set; }

    public bool Verify(string hostKeyName, Certificate? certificate)
    {
        Failure = Check(hostKeyName, certificate);
        return Failure is null;
    }

    private string? Check(string hostKeyName, Certificate? certificate)
    {
        var trust = connection.HostTrust!;
        var endpoint = connection.Endpoint.Trim();
        if (!KnownHostsPattern.Matches(trust.HostPattern, endpoint, (int)connection.Port))
        {
            return $"the endpoint {endpoint}:{connection.Port} does not match the trusted host pattern '{trust.HostPattern}'";
        }

        if (certificate is null || !hostKeyName.EndsWith("-cert-v01@openssh.com", StringComparison.Ordinal))
        {
            return $"the host presented a plain {hostKeyName} key, not a host certificate";
        }

        if (!SshPublicKey.TryParse(trust.PublicKey, out var ca, out var caError))
        {
            return "the trusted host CA key cannot be read: " + caError;
        }

        SshPublicKey signer;
        try
        {
            signer = SshPublicKey.FromBlob(certificate.CertificateAuthorityKey);
        }
        catch (SshFormatException e)
        {
            return "the host certificate's CA key cannot be read: " + e.Message;
        }

        if (certificate.Type != Certificate.CertificateType.Host)
        {
            return "the host presented a user certificate";
        }

        if (!signer.Equals(ca))
        {
            return $"the host certificate is signed by {signer.Fingerprint}, not by the trusted host CA {ca.Fingerprint}";
        }

        var now = (ulong)timeProvider.GetUtcNow().ToUnixTimeSeconds();
        if (now < certificate.ValidAfterUnixSeconds || now >= certificate.ValidBeforeUnixSeconds)
        {
            return $"the host certificate is not valid now (valid {certificate.ValidAfter:u} to {certificate.ValidBefore:u})";
        }

        if (!certificate.ValidPrincipals.Any(p => string.Equals(p, endpoint, StringComparison.OrdinalIgnoreCase)))
        {
            return $"the host certificate does not name {endpoint} (principals: {string.Join(", ", certificate.ValidPrincipals)})";
        }

        return null;
    }
}
