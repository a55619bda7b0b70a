namespace Dedalus.Server.Store;

/// <summary>Which <c>ssh_live_connections</c> row a finished connection was: its node and that node's gateway connection id.</summary>
public readonly record struct LiveConnectionKey(string NodeId, long ConnectionId);
