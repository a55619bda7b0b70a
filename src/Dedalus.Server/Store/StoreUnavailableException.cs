namespace Dedalus.Server.Store;

/// <summary>
/// The store cannot be reached right now (the database is down, restarting or unreachable over the network). Requests
/// answer 503 and background loops try again at their next tick; it never means the data is wrong, and it is never
/// thrown for a refusal (a constraint, a conflict).
/// </summary>
public sealed class StoreUnavailableException(string message, Exception? inner = null) : Exception(message, inner);
