namespace Dedalus.Server.Executions;

/// <summary>"Execution X has new events", for readers that wait (events with <c>wait_ms</c>, the log stream).</summary>
public sealed class ExecutionChangeFeed : ChangeFeed;
