using Dedalus.Server.Quotas;

namespace Dedalus.Server.Tests.Infrastructure;

/// <summary>A host of fixed size, for tests of the quota arithmetic (the real measurement has tests of its own).</summary>
public sealed class FixedHostResources(double cpus, long memoryMib, StorageCapacity storage) : IHostResources
{
    public double Cpus => cpus;

    public long MemoryMib => memoryMib;

    public StorageCapacity MeasureStorage() => storage;
}
