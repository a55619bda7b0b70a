using Dedalus.OpenSsh.Wire;

namespace Dedalus.OpenSsh;

/// <summary>
/// Builds an OpenSSH key revocation list (PROTOCOL.krl) revoking certificates by serial number and by key id, for
/// sshd's <c>RevokedKeys</c> and <c>ssh-keygen -Q</c>. The list has one certificate section per CA given, and every
/// revocation applies under each of them: several CAs are trusted at once while one replaces another (a rotation), and
/// a certificate signed by either must stay revocable. OpenSSH scopes serials to their CA, so revoking a serial under
/// several CAs suits serials that are unique across them (random 64-bit serials, as ours are). Not thread-safe.
/// </summary>
public sealed class SshKeyRevocationListBuilder
{
    private const ulong KrlMagic = 0x5353484b524c0a00; // "SSHKRL\n\0"
    private const uint KrlFormatVersion = 1;
    private const byte SectionCertificates = 1;
    private const byte CertSectionSerialList = 0x20;
    private const byte CertSectionSerialRange = 0x21;
    private const byte CertSectionKeyId = 0x23;

    /// <summary>Runs of at least this many consecutive serials are written as one range.</summary>
    private const int MinimumRangeLength = 3;

    private readonly List<SshPublicKey> _cas;
    private readonly SortedSet<ulong> _serials = [];
    private readonly List<(ulong First, ulong Last)> _ranges = [];
    private readonly SortedSet<string> _keyIds = new(StringComparer.Ordinal);

    /// <summary>A list revoking certificates of <paramref name="ca"/>.</summary>
    public SshKeyRevocationListBuilder(SshPublicKey ca)
        : this([ca ?? throw new ArgumentNullException(nameof(ca))])
    {
    }

    /// <summary>
    /// A list revoking certificates of each of <paramref name="certificateAuthorities"/> (one section each, in the order
    /// given; a CA named twice gets one section).
    /// </summary>
    /// <exception cref="ArgumentException">No CA is given.</exception>
    public SshKeyRevocationListBuilder(IEnumerable<SshPublicKey> certificateAuthorities)
    {
        ArgumentNullException.ThrowIfNull(certificateAuthorities);
        _cas = [];
        foreach (var ca in certificateAuthorities)
        {
            ArgumentNullException.ThrowIfNull(ca, nameof(certificateAuthorities));
            if (!_cas.Contains(ca))
            {
                _cas.Add(ca);
            }
        }

        if (_cas.Count == 0)
        {
            throw new ArgumentException("a KRL needs at least one CA", nameof(certificateAuthorities));
        }
    }

    /// <summary>The first CA whose certificates this list revokes.</summary>
    public SshPublicKey CertificateAuthority => _cas[0];

    /// <summary>Every CA whose certificates this list revokes, one certificate section each.</summary>
    public IReadOnlyList<SshPublicKey> CertificateAuthorities => _cas;

    /// <summary>A free-text comment stored in the KRL header.</summary>
    public string Comment { get; set; } = string.Empty;

    /// <summary>Revokes the certificate with this serial (serial 0 cannot be revoked by serial in OpenSSH).</summary>
    public SshKeyRevocationListBuilder RevokeSerial(ulong serial)
    {
        ArgumentOutOfRangeException.ThrowIfZero(serial);
        _serials.Add(serial);
        return this;
    }

    /// <summary>Revokes every serial from <paramref name="first"/> to <paramref name="last"/>, inclusive.</summary>
    public SshKeyRevocationListBuilder RevokeSerialRange(ulong first, ulong last)
    {
        ArgumentOutOfRangeException.ThrowIfZero(first);
        ArgumentOutOfRangeException.ThrowIfLessThan(last, first);
        _ranges.Add((first, last));
        return this;
    }

    /// <summary>Revokes every certificate with this key id.</summary>
    public SshKeyRevocationListBuilder RevokeKeyId(string keyId)
    {
        ArgumentException.ThrowIfNullOrEmpty(keyId);
        _keyIds.Add(keyId);
        return this;
    }

    /// <summary>
    /// Writes the KRL (PROTOCOL.krl):
    /// <code>
    /// uint64 KRL_MAGIC 0x5353484b524c0a00
    /// uint32 KRL_FORMAT_VERSION 1
    /// uint64 krl_version
    /// uint64 generated_date (seconds since the epoch)
    /// uint64 flags (0)
    /// string reserved (empty)
    /// string comment
    /// then, for each CA:
    /// byte   KRL_SECTION_CERTIFICATES (1)
    /// string section data:
    ///     string ca_key (CA public key blob)
    ///     string reserved (empty)
    ///     byte   KRL_SECTION_CERT_SERIAL_LIST (0x20),  string (uint64 serial)*
    ///     byte   KRL_SECTION_CERT_SERIAL_RANGE (0x21), string (uint64 serial_min, uint64 serial_max), one per range
    ///     byte   KRL_SECTION_CERT_KEY_ID (0x23),       string (string key_id)*
    /// </code>
    /// Empty subsections are left out; serials are sorted and merged into ranges. Every section holds the same
    /// revocations (PROTOCOL.krl allows any number of certificate sections; OpenSSH merges sections of the same CA).
    /// </summary>
    public byte[] Build(ulong version, DateTimeOffset generatedAt)
    {
        var (singles, ranges) = Coalesce();
        var writer = new SshWireWriter(stackalloc byte[512]);
        try
        {
            writer.WriteUInt64(KrlMagic);
            writer.WriteUInt32(KrlFormatVersion);
            writer.WriteUInt64(version);
            writer.WriteUInt64(SshCertificate.ToUnixSeconds(generatedAt));
            writer.WriteUInt64(0);
            writer.WriteUInt32(0);
            writer.WriteString(Comment ?? string.Empty);

            foreach (var ca in _cas)
            {
                writer.WriteByte(SectionCertificates);
                var section = writer.BeginString();
                writer.WriteString(ca.BlobSpan);
                writer.WriteUInt32(0);
                WriteSubsection(ref writer, CertSectionSerialList, singles, static (ref SshWireWriter w, ulong serial) => w.WriteUInt64(serial));

                foreach (var (first, last) in ranges)
                {
                    // One range per subsection: OpenSSH reads exactly one pair from each.
                    writer.WriteByte(CertSectionSerialRange);
                    writer.WriteUInt32(16);
                    writer.WriteUInt64(first);
                    writer.WriteUInt64(last);
                }

                WriteSubsection(ref writer, CertSectionKeyId, _keyIds, static (ref SshWireWriter w, string keyId) => w.WriteString(keyId));
                writer.EndString(section);
            }

            return writer.ToArray();
        }
        finally
        {
            writer.Dispose();
        }
    }

    /// <summary>A subsection holding a list (<c>byte type, string (item)*</c>); an empty list is left out.</summary>
    private static void WriteSubsection<T>(ref SshWireWriter writer, byte type, IReadOnlyCollection<T> items, WriteItem<T> write)
    {
        if (items.Count == 0)
        {
            return;
        }

        writer.WriteByte(type);
        var list = writer.BeginString();
        foreach (var item in items)
        {
            write(ref writer, item);
        }

        writer.EndString(list);
    }

    private delegate void WriteItem<in T>(ref SshWireWriter writer, T item);

    /// <summary>Merges single serials and explicit ranges into sorted, disjoint runs.</summary>
    private (List<ulong> Singles, List<(ulong First, ulong Last)> Ranges) Coalesce()
    {
        var runs = new List<(ulong First, ulong Last)>(_serials.Count + _ranges.Count);
        runs.AddRange(_serials.Select(s => (s, s)));
        runs.AddRange(_ranges);
        runs.Sort();
        var merged = new List<(ulong First, ulong Last)>();
        foreach (var (first, last) in runs)
        {
            if (merged.Count > 0 && (merged[^1].Last == ulong.MaxValue || first <= merged[^1].Last + 1))
            {
                var previous = merged[^1];
                merged[^1] = (previous.First, Math.Max(previous.Last, last));
            }
            else
            {
                merged.Add((first, last));
            }
        }

        var singles = new List<ulong>();
        var ranges = new List<(ulong, ulong)>();
        foreach (var (first, last) in merged)
        {
            if (last - first + 1 >= MinimumRangeLength)
            {
                ranges.Add((first, last));
            }
            else
            {
                for (var serial = first; ; serial++)
                {
                    singles.Add(serial);
                    if (serial == last)
                    {
                        break;
                    }
                }
            }
        }

        return (singles, ranges);
    }
}
