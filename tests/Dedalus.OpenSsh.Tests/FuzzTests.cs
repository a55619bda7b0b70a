using Dedalus.OpenSsh.Tests.Support;

namespace Dedalus.OpenSsh.Tests;

/// <summary>
/// Mutated, truncated and spliced keys and certificates (deterministic seed) must give a clean
/// refusal with a message, never an unhandled exception.
/// </summary>
public sealed class FuzzTests
{
    private const int Seed = 20261128;
    private const int Iterations = 20_000;
    private const string Specials = " \t\n\r=\0é/+";

    [Fact]
    public async Task Twenty_thousand_mutated_key_and_certificate_lines_are_refused_cleanly_or_parsed()
    {
        var corpus = await CorpusAsync();
        var random = new Random(Seed);
        var refused = 0;
        var parsed = 0;

        for (var i = 0; i < Iterations; i++)
        {
            var (type, blob, comment) = corpus[random.Next(corpus.Count)];
            var line = i % 4 == 0
                ? MutateText(random, $"{type} {Convert.ToBase64String(blob)} {comment}")
                : $"{(random.Next(8) == 0 ? corpus[random.Next(corpus.Count)].Type : type)} {Convert.ToBase64String(MutateBlob(random, blob))}";

            var keyOk = SshPublicKey.TryParse(line, out var key, out var keyError);
            var certOk = SshCertificate.TryParse(line, out var cert, out var certError);

            Assert.True(keyOk ? key is not null : !string.IsNullOrWhiteSpace(keyError), line);
            Assert.True(certOk ? cert is not null : !string.IsNullOrWhiteSpace(certError), line);
            if (certOk)
            {
                _ = cert!.VerifySignature();
                _ = cert.ToOpenSshString();
            }

            if (keyOk)
            {
                _ = key!.Fingerprint;
            }

            refused += (keyOk ? 0 : 1) + (certOk ? 0 : 1);
            parsed += (keyOk ? 1 : 0) + (certOk ? 1 : 0);
        }

        // Most mutations are refused; some (comment edits, point-preserving flips) still parse.
        Assert.True(refused > Iterations, $"refused {refused}, parsed {parsed}");
    }

    [Fact]
    public async Task Twenty_thousand_mutated_certificate_blobs_are_refused_cleanly_or_parsed()
    {
        var corpus = (await CorpusAsync()).Where(c => c.Type.Contains("-cert-", StringComparison.Ordinal)).ToList();
        var random = new Random(Seed + 1);
        var refused = 0;

        for (var i = 0; i < Iterations; i++)
        {
            var blob = MutateBlob(random, corpus[random.Next(corpus.Count)].Blob);

            if (SshCertificate.TryFromBlob(blob, out var cert, out var error))
            {
                _ = cert.VerifySignature();
            }
            else
            {
                Assert.False(string.IsNullOrWhiteSpace(error));
                refused++;
            }

            try
            {
                _ = SshPublicKey.FromBlob(blob);
            }
            catch (SshFormatException ex)
            {
                Assert.False(string.IsNullOrWhiteSpace(ex.Message));
            }
        }

        Assert.True(refused > Iterations / 2, $"refused only {refused}");
    }

    [Fact]
    public void Five_thousand_mutated_private_key_files_are_refused_with_SshFormatException_or_parsed()
    {
        using var ed25519 = SshPrivateKey.GenerateEd25519();
        using var ecdsa = SshPrivateKey.GenerateEcdsaNistP256();
        var files = new[] { ed25519.ToOpenSshFormat("a"), ecdsa.ToOpenSshFormat("b") }
            .Select(t => Convert.FromBase64String(string.Concat(t.Split('\n').Where(l => l.Length > 0 && !l.StartsWith('-')))))
            .ToArray();
        var random = new Random(Seed + 2);
        var refused = 0;

        for (var i = 0; i < 5_000; i++)
        {
            var body = MutateBlob(random, files[random.Next(files.Length)]);
            var text = $"-----BEGIN OPENSSH PRIVATE KEY-----\n{Convert.ToBase64String(body)}\n-----END OPENSSH PRIVATE KEY-----\n";
            try
            {
                using var key = SshPrivateKey.ParseOpenSshFormat(text);
                Assert.NotNull(key.PublicKey);
            }
            catch (SshFormatException ex)
            {
                Assert.False(string.IsNullOrWhiteSpace(ex.Message));
                refused++;
            }
        }

        Assert.True(refused > 2_500, $"refused only {refused}");
    }

    private static async Task<List<(string Type, byte[] Blob, string Comment)>> CorpusAsync()
    {
        using var caKey = SshPrivateKey.GenerateEd25519();
        using var ecdsaCaKey = SshPrivateKey.GenerateEcdsaNistP256();
        var corpus = new List<(string, byte[], string)>();
        foreach (var kind in new[] { "ed25519", "ecdsa-256", "ecdsa-384", "ecdsa-521", "rsa-2048", "sk-ed25519", "sk-ecdsa" })
        {
            var key = (await SharedKeys.GetAsync(kind)).PublicKey;
            corpus.Add((key.KeyType, key.Blob.ToArray(), "comment"));
            foreach (var ca in new[] { caKey, ecdsaCaKey })
            {
                var cert = new SshCertificateAuthority(ca).Issue(CertificateSpecs.Full(key));
                corpus.Add((cert.CertificateType, cert.Blob.ToArray(), "cert"));
            }
        }

        return corpus;
    }

    private static byte[] MutateBlob(Random random, byte[] original)
    {
        var blob = original.ToList();
        var rounds = 1 + random.Next(3);
        for (var r = 0; r < rounds && blob.Count > 0; r++)
        {
            var at = random.Next(blob.Count);
            switch (random.Next(7))
            {
                case 0:
                    blob = blob.Take(random.Next(blob.Count)).ToList();
                    break;
                case 1:
                    blob[at] ^= (byte)(1 << random.Next(8));
                    break;
                case 2:
                    blob[at] = (byte)random.Next(256);
                    break;
                case 3:
                    blob.InsertRange(at, Enumerable.Range(0, 1 + random.Next(8)).Select(_ => (byte)random.Next(256)));
                    break;
                case 4:
                    // Corrupt what may be a length prefix.
                    var value = random.Next(4) switch { 0 => 0xFFFFFFFFu, 1 => 0u, 2 => 0x7FFFFFFFu, _ => (uint)random.Next(1, 600) };
                    for (var b = 0; b < 4 && at + b < blob.Count; b++)
                    {
                        blob[at + b] = (byte)(value >> (24 - (8 * b)));
                    }

                    break;
                case 5:
                    blob.RemoveRange(at, Math.Min(blob.Count - at, 1 + random.Next(16)));
                    break;
                default:
                    var from = random.Next(blob.Count);
                    blob.InsertRange(at, blob.Skip(from).Take(1 + random.Next(32)).ToList());
                    break;
            }
        }

        return [.. blob];
    }

    private static string MutateText(Random random, string line)
    {
        var chars = line.ToList();
        switch (random.Next(5))
        {
            case 0:
                return line[..random.Next(line.Length + 1)];
            case 1:
                chars[random.Next(chars.Count)] = (char)random.Next(0, 128);
                break;
            case 2:
                chars.Insert(random.Next(chars.Count), Specials[random.Next(Specials.Length)]);
                break;
            case 3:
                chars.RemoveAt(random.Next(chars.Count));
                break;
            default:
                return line + new string('A', random.Next(1, 20_000));
        }

        return new string([.. chars]);
    }
}
