namespace Dedalus.Machines.Runtime;

/// <summary>A command to run in a machine as an execution of its own (<see cref="IMachineRuntime.StartExecutionAsync"/>).</summary>
/// <param name="Name">
/// The execution's name in the runtime (lowercase letters, digits and <c>-</c>, at most 64): its process group is found by
/// it again, also by a later server process (<see cref="IMachineRuntime.EndExecutionAsync"/>).
/// </param>
/// <param name="Arguments">argv; no shell.</param>
/// <param name="User">The user to run as, resolved against the base userland.</param>
/// <param name="WorkingDirectory">Absolute directory inside the machine; the user's home when null.</param>
/// <param name="Environment">Variables added to the clean environment (<c>PATH</c>, <c>HOME</c>, <c>USER</c>, <c>LOGNAME</c>, <c>SHELL</c>), which they may replace.</param>
public sealed record MachineExecutionRequest(
    string Name,
    IReadOnlyList<string> Arguments,
    string User,
    string? WorkingDirectory,
    IReadOnlyDictionary<string, string> Environment);
