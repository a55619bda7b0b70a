using System.Text.Json.Serialization;

namespace Dedalus.Contracts;

/// <summary>
/// The one System.Text.Json source-generation context for the wire contract: snake_case names,
/// nulls omitted. Unknown members are skipped here so clients survive a newer server; the server
/// reads requests with <see cref="System.Text.Json.Serialization.JsonUnmappedMemberHandling.Disallow"/>
/// on top of this context so that a typo in a request is a 400.
/// </summary>
[JsonSourceGenerationOptions(
    PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower,
    DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    NumberHandling = JsonNumberHandling.Strict)]
[JsonSerializable(typeof(CreateMachineRequest))]
[JsonSerializable(typeof(UpdateMachineRequest))]
[JsonSerializable(typeof(Machine))]
[JsonSerializable(typeof(MachineList))]
[JsonSerializable(typeof(MachineNetworkSettings))]
[JsonSerializable(typeof(AutoresizingSettings))]
[JsonSerializable(typeof(CreateSshSessionRequest))]
[JsonSerializable(typeof(SshSession))]
[JsonSerializable(typeof(SshSessionList))]
[JsonSerializable(typeof(CreateExecutionRequest))]
[JsonSerializable(typeof(Execution))]
[JsonSerializable(typeof(ExecutionList))]
[JsonSerializable(typeof(ExecutionOutput))]
[JsonSerializable(typeof(ExecutionEvent))]
[JsonSerializable(typeof(ExecutionEventList))]
[JsonSerializable(typeof(ExecutionLogStatus))]
[JsonSerializable(typeof(ExecutionLogToken))]
[JsonSerializable(typeof(ErrorEnvelope))]
public sealed partial class DedalusJsonContext : JsonSerializerContext;
