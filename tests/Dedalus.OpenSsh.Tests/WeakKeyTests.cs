using System.Numerics;
using System.Security.Cryptography;
using Dedalus.OpenSsh.Tests.Support;
using Dedalus.Testing;

namespace Dedalus.OpenSsh.Tests;

/// <summary>
/// Issue #10, point 5: keys anyone can sign for, or that are no SSH keys, are refused when parsed. Small-order Ed25519
/// points (all eight, derived here from the curve with the test's own arithmetic), non-canonical and off-curve
/// encodings, and security keys whose application is not <c>ssh:</c>; real keys of every kind still parse.
/// </summary>
public sealed class WeakKeyTests
{
    /// <summary>The eight points of the torsion subgroup, as the literature lists their encodings (checked against the curve below).</summary>
    private static readonly string[] KnownSmallOrderEncodings =
    [
        "0100000000000000000000000000000000000000000000000000000000000000",
        "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
        "0000000000000000000000000000000000000000000000000000000000000000",
        "0000000000000000000000000000000000000000000000000000000000000080",
        "26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05",
        "26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc85",
        "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a",
        "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac03fa",
    ];

    public static TheoryData<string> SmallOrderEncodings => [.. SmallOrderPoints().Select(p => Convert.ToHexStringLower(Edwards25519.Encode(p)))];

    [Fact]
    public void The_small_order_points_derived_from_the_curve_are_the_eight_known_encodings()
    {
        var points = SmallOrderPoints();

        Assert.All(points, p => Assert.True(Edwards25519.IsOnCurve(p), $"{p} is not on the curve"));
        Assert.Equal([1, 2, 4, 4, 8, 8, 8, 8], points.Select(Edwards25519.Order).Order());
        Assert.Equal(KnownSmallOrderEncodings.Order(), points.Select(p => Convert.ToHexStringLower(Edwards25519.Encode(p))).Order());
    }

    [Theory]
    [MemberData(nameof(SmallOrderEncodings))]
    public void A_small_order_ed25519_key_is_refused_plain_and_as_a_security_key(string hex)
    {
        var pk = Convert.FromHexString(hex);

        AssertRefused(Ed25519Line(pk), "Ed25519 public key is a small-order point");
        AssertRefused(SkEd25519Line(pk, "ssh:"), "Ed25519 public key is a small-order point");
    }

    [Fact]
    public void The_all_zero_key_and_the_identity_are_refused_with_their_order_and_what_to_do()
    {
        var zero = Refusal(Ed25519Line(new byte[32]));
        var identity = Refusal(Ed25519Line([1, .. new byte[31]]));

        Assert.Contains("small-order point (order 4;", zero, StringComparison.Ordinal);
        Assert.Contains("small-order point (order 1;", identity, StringComparison.Ordinal);
        Assert.Contains("ssh-keygen -t ed25519", identity, StringComparison.Ordinal);
    }

    [Fact]
    public void Every_non_canonical_y_is_refused()
    {
        // y = p .. 2^255 - 1, with either sign: 19 second encodings of y = 0 .. 18.
        for (var excess = 0; excess < 19; excess++)
        {
            var y = Edwards25519.P + excess;
            foreach (var sign in new byte[] { 0, 0x80 })
            {
                var pk = new byte[32];
                y.TryWriteBytes(pk, out _, isUnsigned: true, isBigEndian: false);
                pk[31] |= sign;

                AssertRefused(Ed25519Line(pk), "not a canonical point encoding");
            }
        }
    }

    [Theory]
    [InlineData("0100000000000000000000000000000000000000000000000000000000000080")] // the identity with x's sign bit set
    [InlineData("ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff")] // (0, -1) with x's sign bit set
    public void X_zero_with_the_sign_bit_set_is_refused(string hex) =>
        AssertRefused(Ed25519Line(Convert.FromHexString(hex)), "not a canonical point encoding");

    [Fact]
    public void A_y_without_a_point_on_the_curve_is_refused()
    {
        var y = Enumerable.Range(2, 100).Select(i => new BigInteger(i))
            .First(y => !Edwards25519.IsSquare(Edwards25519.Mod((y * y) - 1) * Edwards25519.Inverse((Edwards25519.D * y * y) + 1)));
        var pk = new byte[32];
        y.TryWriteBytes(pk, out _, isUnsigned: true, isBigEndian: false);

        AssertRefused(Ed25519Line(pk), "not a point of the curve");
    }

    [Fact]
    public void A_real_key_plus_a_torsion_point_still_parses()
    {
        // A mixed-order key: its owner can sign, nobody else can; OpenSSH accepts it, and so do we (only small order is refused).
        using var key = SshPrivateKey.GenerateEd25519();
        var real = Edwards25519.Decode(key.PublicKey.Blob.Span[^32..]);
        var torsion = SmallOrderPoints().First(p => Edwards25519.Order(p) == 8);
        var mixed = Edwards25519.Add(real, torsion);

        var parsed = SshPublicKey.Parse(Ed25519Line(Edwards25519.Encode(mixed)));

        Assert.Equal(SshKeyAlgorithms.Ed25519, parsed.KeyType);
    }

    [Fact]
    public void A_certificate_for_a_small_order_key_is_refused()
    {
        var line = CertificateParsingTests.RebuiltCertificateLine(subjectFields: TestKeys.Blob(w => w.WriteString(new byte[32])));

        Assert.False(SshCertificate.TryParse(line, out _, out var error));
        Assert.Contains("small-order point", error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Fifty_keys_from_ssh_keygen_and_a_thousand_generated_ones_all_parse()
    {
        using var directory = new TempDirectory();
        var fromKeygen = await Task.WhenAll(Enumerable.Range(0, 50).Select(async _ => (await OpenSshTools.GenerateKeyAsync(directory, "ed25519")).PublicKeyLine));
        var generated = Enumerable.Range(0, 1000).Select(_ =>
        {
            using var key = SshPrivateKey.GenerateEd25519();
            return key.PublicKey.ToOpenSshString();
        });

        foreach (var line in fromKeygen.Concat(generated))
        {
            Assert.True(SshPublicKey.TryParse(line, out _, out var error), $"{line}: {error}");
            var pk = Convert.FromBase64String(line.Split(' ')[1])[^32..];
            Assert.True(SshPublicKey.TryParse(SkEd25519Line(pk, "ssh:"), out _, out error), $"{line} as a security key: {error}");
        }
    }

    [Theory]
    [InlineData("ssh:")]
    [InlineData("ssh:work-laptop")]
    public void A_security_key_for_an_ssh_application_parses(string application)
    {
        Assert.True(SshPublicKey.TryParse(TestKeys.SkEd25519Line(application), out _, out var error), error);
        Assert.True(SshPublicKey.TryParse(TestKeys.SkEcdsaLine(application), out _, out error), error);
    }

    [Theory]
    [InlineData("https://example.com")]
    [InlineData("example.com")]
    [InlineData("SSH:")]
    [InlineData("ssh")]
    [InlineData(" ssh:")]
    public void A_security_key_whose_application_is_not_ssh_is_refused(string application)
    {
        AssertRefused(TestKeys.SkEd25519Line(application), "does not start with 'ssh:'");
        AssertRefused(TestKeys.SkEcdsaLine(application), "does not start with 'ssh:'");
    }

    [Fact]
    public void Ecdsa_points_off_the_curve_or_at_infinity_are_refused()
    {
        using var ecdsa = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var q = ecdsa.ExportParameters(false).Q;
        var p256 = ecdsa.ExportExplicitParameters(false).Curve.Prime!;

        AssertRefused(EcdsaLine([0x04, .. new byte[64]]), "not on curve nistp256"); // (0, 0): the usual stand-in for infinity
        AssertRefused(EcdsaLine([0x00]), "not an uncompressed nistp256 point"); // SEC 1's encoding of the point at infinity
        AssertRefused(EcdsaLine([0x04, .. p256, .. q.Y!]), "not on curve nistp256"); // x = p: not reduced
        AssertRefused(EcdsaLine([0x04, .. q.X!, .. q.Y![..^1], (byte)(q.Y![^1] ^ 1)]), "not on curve nistp256");
        Assert.True(SshPublicKey.TryParse(EcdsaLine([0x04, .. q.X!, .. q.Y!]), out _, out var error), error);

        // The platform refuses the same points when importing them, so either check would do; the parser's runs first.
        using var import = ECDsa.Create();
        Assert.ThrowsAny<CryptographicException>(() => import.ImportParameters(new ECParameters
        {
            Curve = ECCurve.NamedCurves.nistP256,
            Q = new ECPoint { X = new byte[32], Y = new byte[32] },
        }));
    }

    /// <summary>The torsion subgroup: (0, 1), (0, -1), (+-sqrt(-1), 0) and the four points whose double has y = 0.</summary>
    private static List<(BigInteger X, BigInteger Y)> SmallOrderPoints()
    {
        var points = new List<(BigInteger X, BigInteger Y)> { Edwards25519.Identity, (0, Edwards25519.P - 1) };
        var i = Edwards25519.Sqrt(Edwards25519.P - 1);
        points.Add((i, 0));
        points.Add((Edwards25519.P - i, 0));

        // 2P has y = 0 when x^2 = -y^2, which on the curve gives d y^4 + 2 y^2 - 1 = 0: y^2 = (-1 +- sqrt(1 + d)) / d.
        var root = Edwards25519.Sqrt(1 + Edwards25519.D);
        var y2 = new[] { root, Edwards25519.P - root }
            .Select(r => Edwards25519.Mod((r - 1) * Edwards25519.Inverse(Edwards25519.D)))
            .Single(Edwards25519.IsSquare);
        var y = Edwards25519.Sqrt(y2);
        var x = Edwards25519.Sqrt(Edwards25519.P - y2);
        foreach (var py in new[] { y, Edwards25519.P - y })
        {
            foreach (var px in new[] { x, Edwards25519.P - x })
            {
                points.Add((px, py));
            }
        }

        return points;
    }

    private static string Ed25519Line(byte[] pk) =>
        TestKeys.Line(w =>
        {
            w.WriteString(SshKeyAlgorithms.Ed25519);
            w.WriteString(pk);
        }, SshKeyAlgorithms.Ed25519);

    private static string SkEd25519Line(byte[] pk, string application) =>
        TestKeys.Line(w =>
        {
            w.WriteString(SshKeyAlgorithms.SkEd25519);
            w.WriteString(pk);
            w.WriteString(application);
        }, SshKeyAlgorithms.SkEd25519);

    private static string EcdsaLine(byte[] q) =>
        TestKeys.Line(w =>
        {
            w.WriteString(SshKeyAlgorithms.EcdsaNistP256);
            w.WriteString("nistp256");
            w.WriteString(q);
        }, SshKeyAlgorithms.EcdsaNistP256);

    private static string Refusal(string line)
    {
        Assert.False(SshPublicKey.TryParse(line, out _, out var error));
        return error;
    }

    private static void AssertRefused(string line, string expectedMessagePart) =>
        ParseAssert.Refused<SshPublicKey>(line, expectedMessagePart, SshPublicKey.TryParse, SshPublicKey.Parse);
}
