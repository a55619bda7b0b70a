namespace Dedalus.Server.Connections;

/// <summary>A page of a machine's finished SSH connections, newest first (<c>GET /v1/machines/{id}/ssh/connections/history</c>).</summary>
/// <param name="Items">The connections.</param>
/// <param name="NextCursor">The <c>cursor</c> of the next (older) page; absent on the last one.</param>
public sealed record FinishedSshConnectionList(IReadOnlyList<FinishedSshConnection> Items, string? NextCursor = null);
