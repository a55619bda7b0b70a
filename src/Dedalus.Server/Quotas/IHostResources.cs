namespace Dedalus.Server.Quotas;

/// <summary>The host's amounts that percentage quotas and the storage check refer to. A test may give fixed ones.</summary>
public interface IHostResources
{
    /// <summary>The host's CPUs.</summary>
    double Cpus { get; }

    /// <summary>The host's memory in MiB.</summary>
    long MemoryMib { get; }

    /// <summary>Measures, now, the storage the host can back.</summary>
    StorageCapacity MeasureStorage();
}
