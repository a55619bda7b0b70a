namespace Dedalus.OpenSsh;

/// <summary>The certificate type field of PROTOCOL.certkeys (SSH2_CERT_TYPE_USER / SSH2_CERT_TYPE_HOST).</summary>
public enum SshCertificateType
{
    User = 1,
    Host = 2,
}
