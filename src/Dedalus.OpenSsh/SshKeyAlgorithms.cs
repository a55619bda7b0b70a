namespace Dedalus.OpenSsh;

/// <summary>
/// The OpenSSH key type names this library accepts, and their certificate type names
/// (PROTOCOL.certkeys, PROTOCOL.u2f).
/// </summary>
public static class SshKeyAlgorithms
{
    public const string Ed25519 = "ssh-ed25519";
    public const string EcdsaNistP256 = "ecdsa-sha2-nistp256";
    public const string EcdsaNistP384 = "ecdsa-sha2-nistp384";
    public const string EcdsaNistP521 = "ecdsa-sha2-nistp521";
    public const string Rsa = "ssh-rsa";
    public const string SkEd25519 = "sk-ssh-ed25519@openssh.com";
    public const string SkEcdsaNistP256 = "sk-ecdsa-sha2-nistp256@openssh.com";

    public const string Ed25519Certificate = "ssh-ed25519-cert-v01@openssh.com";
    public const string EcdsaNistP256Certificate = "ecdsa-sha2-nistp256-cert-v01@openssh.com";
    public const string EcdsaNistP384Certificate = "ecdsa-sha2-nistp384-cert-v01@openssh.com";
    public const string EcdsaNistP521Certificate = "ecdsa-sha2-nistp521-cert-v01@openssh.com";
    public const string RsaCertificate = "ssh-rsa-cert-v01@openssh.com";
    public const string SkEd25519Certificate = "sk-ssh-ed25519-cert-v01@openssh.com";
    public const string SkEcdsaNistP256Certificate = "sk-ecdsa-sha2-nistp256-cert-v01@openssh.com";

    /// <summary>The smallest RSA modulus accepted, in bits.</summary>
    public const int MinimumRsaBits = 2048;

    /// <summary>The accepted public key types.</summary>
    public static IReadOnlyList<string> KeyTypes { get; } =
        [Ed25519, EcdsaNistP256, EcdsaNistP384, EcdsaNistP521, Rsa, SkEd25519, SkEcdsaNistP256];

    /// <summary>The certificate type name for a key type (e.g. ssh-ed25519 -> ssh-ed25519-cert-v01@openssh.com).</summary>
    public static string GetCertificateType(string keyType) =>
        TryGetCertificateType(keyType, out var certificateType)
            ? certificateType
            : throw new ArgumentException($"unsupported key type '{keyType}'", nameof(keyType));

    /// <summary>
    /// Each key type with its certificate type: the key type, less any <c>@openssh.com</c>, then
    /// <c>-cert-v01@openssh.com</c> (PROTOCOL.certkeys; PROTOCOL.u2f for the <c>sk-</c> types).
    /// </summary>
    private static readonly (string Key, string Certificate)[] CertificateTypes =
        [.. KeyTypes.Select(key => (key, key.Replace("@openssh.com", string.Empty, StringComparison.Ordinal) + "-cert-v01@openssh.com"))];

    internal static bool TryGetCertificateType(string keyType, out string certificateType) =>
        TryMap(keyType, fromKey: true, out certificateType);

    internal static bool TryGetKeyTypeOfCertificate(string certificateType, out string keyType) =>
        TryMap(certificateType, fromKey: false, out keyType);

    private static bool TryMap(string name, bool fromKey, out string mapped)
    {
        foreach (var (key, certificate) in CertificateTypes)
        {
            if ((fromKey ? key : certificate) == name)
            {
                mapped = fromKey ? certificate : key;
                return true;
            }
        }

        mapped = string.Empty;
        return false;
    }

    internal static bool IsCertificateType(string type) =>
        type.EndsWith("-cert-v01@openssh.com", StringComparison.Ordinal) ||
        type.EndsWith("-cert-v00@openssh.com", StringComparison.Ordinal);
}
