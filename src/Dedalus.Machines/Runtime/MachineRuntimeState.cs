namespace Dedalus.Machines.Runtime;

/// <summary>Observed state of a machine in the engine.</summary>
public enum MachineRuntimeState
{
    /// <summary>The runtime holds no such machine.</summary>
    Missing,
    /// <summary>Provisioned, no processes.</summary>
    Sleeping,
    /// <summary>Running.</summary>
    Running,
    /// <summary>The engine reports something unexpected (for example a half-started container).</summary>
    Broken,
}
