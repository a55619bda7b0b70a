namespace Dedalus.Server.Machines;

/// <summary>"Machine X changed", for the status stream and for executions waiting on a wake. The store holds the events themselves.</summary>
public sealed class MachineChangeFeed : ChangeFeed;
