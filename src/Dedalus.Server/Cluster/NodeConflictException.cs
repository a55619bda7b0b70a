namespace Dedalus.Server.Cluster;

/// <summary>This node cannot join the nodes of its database as configured (its CAs differ from a live node's); it does not start.</summary>
public sealed class NodeConflictException(string message) : Exception(message);
