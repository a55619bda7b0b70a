using System.Net;
using System.Text.Json;
using Dedalus.Contracts;

namespace Dedalus.Server.Tests.Infrastructure;

/// <summary>A finished HTTP exchange.</summary>
public sealed record Response(HttpStatusCode Status, string Body, string? ETag, System.Net.Http.Headers.HttpResponseHeaders Headers, string? MediaType)
{
    public Machine Machine() => JsonSerializer.Deserialize(Body, DedalusJsonContext.Default.Machine) ?? throw new InvalidOperationException(Body);

    public MachineList MachineList() => JsonSerializer.Deserialize(Body, DedalusJsonContext.Default.MachineList) ?? throw new InvalidOperationException(Body);

    public SshSession Session() => JsonSerializer.Deserialize(Body, DedalusJsonContext.Default.SshSession) ?? throw new InvalidOperationException(Body);

    public SshSessionList SessionList() => JsonSerializer.Deserialize(Body, DedalusJsonContext.Default.SshSessionList) ?? throw new InvalidOperationException(Body);

    public ErrorEnvelope Error()
    {
        Assert.Equal("application/json", MediaType);
        return JsonSerializer.Deserialize(Body, DedalusJsonContext.Default.ErrorEnvelope) ?? throw new InvalidOperationException(Body);
    }

    public override string ToString() => $"{(int)Status} {Body}";
}
