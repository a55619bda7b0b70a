using Dedalus.Server.Auth;
using Dedalus.Server.Hosting;
using Dedalus.Testing;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using OpenQA.Selenium;

namespace Dedalus.Console.Tests.Infrastructure;

/// <summary>
/// The server in this process with the runc runtime, its gateway on loopback and its machines on a test subnet, for
/// the browser tests of one class. Each test signs in with a key of its own org (<see cref="NewOrgAsync"/>), so what one
/// test creates never shows in another's list. Removing it deletes every machine it started.
/// </summary>
public sealed class ConsoleServer : IAsyncLifetime
{
    private readonly RuncDataDirectory _data = new("dedalus-console-");
    private readonly int _gatewayPort = FreePort.Range(4);
    private WebApplication _app = null!;

    /// <summary>The console's base URL, <c>http://127.0.0.1:PORT</c>.</summary>
    public Uri BaseAddress { get; private set; } = null!;

    public IServiceProvider Services => _app.Services;

    public async Task InitializeAsync()
    {
        _app = await ServerApp.BuildAsync(
            [
                "--urls", "http://127.0.0.1:0", "--data-dir", _data.Path, "--runtime", "runc",
                "--gateway-host", "localhost", "--gateway-ports", $"{_gatewayPort}-{_gatewayPort + 3}", "--gateway-bind", "127.0.0.1",
                .. TestSubnets.ServerArguments(_data.Path),
            ],
            builder => builder.Logging.SetMinimumLevel(Microsoft.Extensions.Logging.LogLevel.Warning));
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(120));
        await _app.StartAsync(cts.Token);
        BaseAddress = new Uri(_app.BoundAddresses()[0]);
    }

    /// <summary>A new org and its API key, with an HTTP client that calls <c>/v1</c> with that key.</summary>
    public async Task<(string ApiKey, HttpClient Api)> NewOrgAsync(string org)
    {
        var (key, _) = await _app.Services.GetRequiredService<ApiKeys>().CreateAsync(org + "-" + Guid.NewGuid().ToString("N")[..8]);
        var api = new HttpClient { BaseAddress = BaseAddress, Timeout = TimeSpan.FromSeconds(60) };
        api.DefaultRequestHeaders.Add("x-api-key", key);
        return (key, api);
    }

    /// <summary>Signs <paramref name="browser"/> in with <paramref name="key"/> through the form, as a person does.</summary>
    public void SignIn(Browser browser, string key)
    {
        browser.Driver.Navigate().GoToUrl(new Uri(BaseAddress, "/console"));
        browser.Until(d => d.Url.EndsWith("/console/login", StringComparison.Ordinal), "the sign-in page");
        browser.Driver.FindElement(By.Id("api_key")).SendKeys(key);
        browser.Driver.FindElement(By.CssSelector("#signin button[type=submit]")).Click();
        browser.Until(d => d.FindElement(By.Id("live")).Text == "live", "the machines page, following changes");
    }

    public async Task DisposeAsync()
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(180));
        var store = _app.Services.GetRequiredService<Dedalus.Server.Store.IStore>();
        var runtime = _app.Services.GetRequiredService<Dedalus.Machines.Runtime.IMachineRuntime>();
        var runcRoot = new Dedalus.Machines.Runc.RuncRuntimeOptions { DataDirectory = ServerConfiguration.RuntimeDirectory(_app.Services.GetRequiredService<ServerOptions>()) }.RuncRoot;
        foreach (var machine in await store.ListLiveMachinesAsync(cts.Token))
        {
            await runtime.DeleteAsync(machine.Id, cts.Token);
        }

        await _app.StopAsync(cts.Token);
        await _app.DisposeAsync();
        await _data.RemoveAsync(runcRoot, [], _ => Task.CompletedTask);
    }
}
