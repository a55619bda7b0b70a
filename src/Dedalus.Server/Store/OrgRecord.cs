namespace Dedalus.Server.Store;

/// <summary>An org: its id (<c>org-&lt;uuid&gt;</c>) and its unique name.</summary>
public sealed record OrgRecord(string Id, string Name);
