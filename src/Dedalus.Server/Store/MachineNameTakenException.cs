namespace Dedalus.Server.Store;

/// <summary>A write would give a machine a name another live machine of its org has.</summary>
public sealed class MachineNameTakenException(string name, string holderId)
    : Exception($"the name '{name}' belongs to machine {holderId}")
{
    public string Name { get; } = name;

    public string HolderId { get; } = holderId;
}
