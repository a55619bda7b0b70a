using System.Text.Json.Serialization;

namespace Dedalus.Machines.Runc;

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower, WriteIndented = true)]
[JsonSerializable(typeof(MachineManifest))]
internal sealed partial class RuncJsonContext : JsonSerializerContext;
