namespace Dedalus.Server.Store;

/// <summary>One page of rows in insertion order, and the position after its last row when more follow.</summary>
public sealed record Page<T>(IReadOnlyList<T> Items, long? NextAfter);
