namespace Dedalus.OpenSsh.Tests;

/// <summary>Key type and certificate type names (PROTOCOL.certkeys, PROTOCOL.u2f).</summary>
public sealed class KeyAlgorithmTests
{
    [Theory]
    [InlineData(SshKeyAlgorithms.Ed25519, SshKeyAlgorithms.Ed25519Certificate)]
    [InlineData(SshKeyAlgorithms.EcdsaNistP256, SshKeyAlgorithms.EcdsaNistP256Certificate)]
    [InlineData(SshKeyAlgorithms.EcdsaNistP384, SshKeyAlgorithms.EcdsaNistP384Certificate)]
    [InlineData(SshKeyAlgorithms.EcdsaNistP521, SshKeyAlgorithms.EcdsaNistP521Certificate)]
    [InlineData(SshKeyAlgorithms.Rsa, SshKeyAlgorithms.RsaCertificate)]
    [InlineData(SshKeyAlgorithms.SkEd25519, SshKeyAlgorithms.SkEd25519Certificate)]
    [InlineData(SshKeyAlgorithms.SkEcdsaNistP256, SshKeyAlgorithms.SkEcdsaNistP256Certificate)]
    public void Every_accepted_key_type_maps_to_its_certificate_type_and_back(string keyType, string certificateType)
    {
        Assert.Equal(certificateType, SshKeyAlgorithms.GetCertificateType(keyType));
        Assert.True(SshKeyAlgorithms.TryGetKeyTypeOfCertificate(certificateType, out var back));
        Assert.Equal(keyType, back);
        Assert.True(SshKeyAlgorithms.IsCertificateType(certificateType));
    }

    [Theory]
    [InlineData("ssh-dss")]
    [InlineData("ssh-ed448")]
    [InlineData("ssh-ed25519-cert-v01@openssh.com")]
    public void Other_types_have_no_certificate_type(string keyType)
    {
        Assert.Throws<ArgumentException>(() => SshKeyAlgorithms.GetCertificateType(keyType));
        Assert.False(SshKeyAlgorithms.TryGetKeyTypeOfCertificate(keyType + "-cert-v01@openssh.com", out _));
    }
}
