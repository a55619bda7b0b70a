using Dedalus.Server.Errors;

namespace Dedalus.Server.Machines;

/// <summary>Bounds of machine sizes, and their validation with messages that name the field.</summary>
public sealed record MachineLimits
{
    public double MaxVcpu { get; init; } = 64;
    public long MinMemoryMib { get; init; } = 128;
    public long MaxMemoryMib { get; init; } = 262_144;
    public long MinStorageGib { get; init; } = 1;
    public long MaxStorageGib { get; init; } = 1024;

    public void ValidateVcpu(double vcpu)
    {
        if (double.IsNaN(vcpu) || double.IsInfinity(vcpu) || vcpu < 0.25 || vcpu > MaxVcpu)
        {
            throw DomainException.InvalidRequest($"vcpu must be between 0.25 and {MaxVcpu}", "vcpu");
        }

        if (Math.Abs((vcpu * 4) - Math.Round(vcpu * 4)) > 1e-9)
        {
            throw DomainException.InvalidRequest("vcpu must be a multiple of 0.25", "vcpu");
        }
    }

    public void ValidateMemory(long memoryMib)
    {
        if (memoryMib < MinMemoryMib || memoryMib > MaxMemoryMib)
        {
            throw DomainException.InvalidRequest($"memory_mib must be between {MinMemoryMib} and {MaxMemoryMib}", "memory_mib");
        }
    }

    public void ValidateStorage(long storageGib)
    {
        if (storageGib < MinStorageGib || storageGib > MaxStorageGib)
        {
            throw DomainException.InvalidRequest($"storage_gib must be between {MinStorageGib} and {MaxStorageGib}", "storage_gib");
        }
    }

    public static long ParseAutosleep(string? autosleep)
    {
        if (autosleep is null)
        {
            return Autosleep.DefaultSeconds;
        }

        return Autosleep.TryParse(autosleep, out var seconds, out var error)
            ? seconds
            : throw DomainException.InvalidRequest(error, "autosleep");
    }
}
