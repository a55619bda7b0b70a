using Dedalus.Client.Http;

namespace Dedalus.Client;

/// <summary>
/// Client of the Dedalus Machines v1 API. Thread-safe; create one and reuse it.
/// </summary>
/// <example>
/// <code>
/// using var client = new DedalusClient();
/// await foreach (var machine in client.Machines.ListAsync()) { Console.WriteLine(machine.MachineId); }
/// </code>
/// </example>
public sealed class DedalusClient : IDisposable
{
    private readonly HttpClient _httpClient;
    private readonly bool _ownsHttpClient;

    /// <summary>Creates a client configured from the environment variables.</summary>
    public DedalusClient()
        : this(null, null)
    {
    }

    /// <summary>Creates a client.</summary>
    /// <param name="options">Settings; unset values come from the environment.</param>
    /// <param name="httpClient">
    /// An <see cref="HttpClient"/> to send requests with (not disposed by this client); when
    /// <see langword="null"/>, the client creates and owns one. Its <see cref="HttpClient.BaseAddress"/> is ignored.
    /// </param>
    public DedalusClient(DedalusClientOptions? options, HttpClient? httpClient = null)
    {
        Options = (options ?? new DedalusClientOptions()).WithEnvironmentDefaults();
        if (Options.MaxRetries < 0)
        {
            throw new ArgumentOutOfRangeException(nameof(options), Options.MaxRetries, "MaxRetries must not be negative.");
        }

        if (httpClient is null)
        {
            _httpClient = new HttpClient(new SocketsHttpHandler { PooledConnectionLifetime = TimeSpan.FromMinutes(5) })
            {
                Timeout = System.Threading.Timeout.InfiniteTimeSpan,
            };
            _ownsHttpClient = true;
        }
        else
        {
            _httpClient = httpClient;
        }

        var requester = new ApiRequester(_httpClient, Options);
        Machines = new MachinesResource(requester);
        Organization = new OrganizationResource(requester);
    }

    /// <summary>The effective settings (environment defaults applied).</summary>
    public DedalusClientOptions Options { get; }

    /// <summary>Machines and their SSH sessions.</summary>
    public MachinesResource Machines { get; }

    /// <summary>Settings of the caller's organization.</summary>
    public OrganizationResource Organization { get; }

    /// <inheritdoc />
    public void Dispose()
    {
        if (_ownsHttpClient)
        {
            _httpClient.Dispose();
        }
    }
}
