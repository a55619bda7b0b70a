using Dedalus.Client;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Registers <see cref="DedalusClient"/> in an ASP.NET Core (or any Microsoft.Extensions) container.</summary>
public static class DedalusServiceCollectionExtensions
{
    /// <summary>
    /// Adds a singleton <see cref="DedalusClient"/> whose requests go through a named <c>HttpClient</c>
    /// (<c>"Dedalus"</c>) from <see cref="System.Net.Http.IHttpClientFactory"/>.
    /// </summary>
    /// <param name="services">The service collection.</param>
    /// <param name="configure">Adjusts the options; unset values come from the environment.</param>
    /// <returns>The <see cref="IHttpClientBuilder"/> of the named client, to add handlers.</returns>
    public static IHttpClientBuilder AddDedalusClient(this IServiceCollection services, Func<DedalusClientOptions, DedalusClientOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(services);
        var builder = services.AddHttpClient(HttpClientName, client => client.Timeout = Timeout.InfiniteTimeSpan);
        services.TryAddSingleton(provider =>
        {
            var options = configure is null ? new DedalusClientOptions() : configure(new DedalusClientOptions());
            var factory = provider.GetRequiredService<System.Net.Http.IHttpClientFactory>();
            return new DedalusClient(options, factory.CreateClient(HttpClientName));
        });
        return builder;
    }

    /// <summary>Name of the <c>HttpClient</c> used by the registered <see cref="DedalusClient"/>.</summary>
    public const string HttpClientName = "Dedalus";
}
