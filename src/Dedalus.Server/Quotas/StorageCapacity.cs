using System.Globalization;

namespace Dedalus.Server.Quotas;

/// <summary>
/// The storage the host can back, measured on the data directory's file system when a request asks for storage:
/// <c>floor(overcommit x (available + images) / GiB)</c>. <paramref name="AvailableBytes"/> is what an unprivileged
/// writer may still allocate there (statvfs <c>f_bavail</c>: the blocks ext4 reserves for root are left out, headroom for
/// the server's database); <paramref name="ImageBytes"/> is what the machines' sparse home images hold already, so that
/// the storage of existing machines is not counted twice (once as committed, once as no longer available).
/// Every machine that is not destroyed has its whole <c>storage_gib</c> committed; a request is refused when committed
/// plus asked exceeds <see cref="BackedGib"/>.
/// </summary>
/// <param name="AvailableBytes">Free bytes an unprivileged writer may allocate on the data directory's file system.</param>
/// <param name="ImageBytes">Bytes allocated to the machines' home images.</param>
/// <param name="Overcommit">The operator's ratio of storage promised to storage the disk holds (<c>StorageOvercommit</c>).</param>
public sealed record StorageCapacity(long AvailableBytes, long ImageBytes, double Overcommit)
{
    public const long BytesPerGib = 1L << 30;

    /// <summary>The storage, in GiB, that machines may have committed in all.</summary>
    public long BackedGib => (long)Math.Floor(Overcommit * ((double)AvailableBytes + ImageBytes) / BytesPerGib);

    /// <summary>The terms of the formula, for messages: "77.3 GiB free plus 9.1 GiB held by machine images, overcommit 1".</summary>
    public string Explain() =>
        $"{Gib(AvailableBytes)} GiB free plus {Gib(ImageBytes)} GiB held by machine images, overcommit {Overcommit.ToString(CultureInfo.InvariantCulture)}";

    private static string Gib(long bytes) => (bytes / (double)BytesPerGib).ToString("0.#", CultureInfo.InvariantCulture);
}
