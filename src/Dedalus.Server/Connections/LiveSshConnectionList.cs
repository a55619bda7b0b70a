namespace Dedalus.Server.Connections;

/// <summary>A machine's open SSH connections, oldest first (<c>GET /v1/machines/{id}/ssh/connections</c>).</summary>
/// <param name="Items">The connections; empty when none is open, or when the machine's node is lost (its connections went with it).</param>
public sealed record LiveSshConnectionList(IReadOnlyList<LiveSshConnection> Items);
