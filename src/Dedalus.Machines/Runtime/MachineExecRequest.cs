namespace Dedalus.Machines.Runtime;

/// <summary>A process to start inside a machine.</summary>
/// <param name="Arguments">argv; no shell.</param>
/// <param name="User">User to run as (<c>root</c> by default).</param>
public sealed record MachineExecRequest(IReadOnlyList<string> Arguments, string User = "root");
