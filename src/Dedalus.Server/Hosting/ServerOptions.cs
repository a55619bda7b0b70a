using Dedalus.Server.Domain;

namespace Dedalus.Server.Hosting;

/// <summary>The server's configuration snapshot (section <c>Dedalus</c>, <c>DEDALUS_*</c> variables, command-line options).</summary>
public sealed record ServerOptions
{
    public const string Section = "Dedalus";

    /// <summary>Where the database, CA keys and runtime state live.</summary>
    public required string DataDirectory { get; init; }

    /// <summary>Host names clients use to reach the gateway; the first is the session <c>endpoint</c>.</summary>
    public IReadOnlyList<string> GatewayHosts { get; init; } = ["localhost"];

    /// <summary>Address the gateway listens on.</summary>
    public string GatewayBindAddress { get; init; } = "0.0.0.0";

    public int GatewayPortLow { get; init; } = 22000;

    public int GatewayPortHigh { get; init; } = 22999;

    /// <summary>Runs the TCP gateway in this process.</summary>
    public bool EnableGateway { get; init; } = true;

    /// <summary>known_hosts pattern of <c>host_trust</c>; derived from <see cref="GatewayHosts"/> when unset.</summary>
    public string? HostPattern { get; init; }

    /// <summary>The machine engine: <c>runc</c> (default and, so far, the only one).</summary>
    public string Runtime { get; init; } = "runc";

    /// <summary>Lifetime of an SSH session and its certificate.</summary>
    public TimeSpan SessionTtl { get; init; } = TimeSpan.FromHours(1);

    /// <summary>Back-dating of certificate validity for clock skew.</summary>
    public TimeSpan CertificateBackdate { get; init; } = TimeSpan.FromSeconds(60);

    public TimeSpan SweepInterval { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>How often the reconciler tries a failing runtime step before it marks the machine failed.</summary>
    public int ReconcileAttempts { get; init; } = 3;

    /// <summary>Back-off before the n-th retry of a failing runtime step: n times this.</summary>
    public TimeSpan ReconcileRetryDelay { get; init; } = TimeSpan.FromMilliseconds(500);

    public string SshUsername { get; init; } = "machine";

    /// <summary>Create a dev org and key on first start and write them for the CLI.</summary>
    public bool Dev { get; init; }

    public MachineLimits Limits { get; init; } = new();

    public static readonly TimeSpan MinSessionTtl = TimeSpan.FromSeconds(60);
    public static readonly TimeSpan MaxSessionTtl = TimeSpan.FromHours(24);

    /// <summary>The effective host pattern: each gateway name, plain and with any port (<c>[name]:*</c>, as ssh looks up non-22 ports).</summary>
    public string EffectiveHostPattern =>
        HostPattern ?? string.Join(',', GatewayHosts.SelectMany(h => new[] { h, "[" + h + "]:*" }));
}
