namespace Dedalus.Server.Reconciliation;

/// <summary>What the reconciler does after a counted failure to listen on a machine's gateway port.</summary>
/// <param name="Failures">The failed attempts counted so far (one per retry, however many passes came between).</param>
/// <param name="Move">Move the machine to a free port of the range now.</param>
/// <param name="RetryIn">When the next attempt comes (a kick of the work queue) unless the port is the machine's by then.</param>
public readonly record struct GatewayPortDecision(int Failures, bool Move, TimeSpan RetryIn);
