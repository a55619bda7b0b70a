using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Dedalus.Console.Tests.Infrastructure;
using Dedalus.Contracts;
using OpenQA.Selenium;

namespace Dedalus.Console.Tests;

/// <summary>
/// The web console in headless Chromium against the real server (runc machines, SQLite, loopback): sign-in, the live
/// machine list, sign-out, cross-site refusals and machine-controlled text shown as text.
/// </summary>
public sealed class ConsoleBrowserTests(ConsoleServer server) : IClassFixture<ConsoleServer>
{
    /// <summary>A machine reaching running on a busy shared host (the base image is built once per host).</summary>
    private static readonly TimeSpan MachineStart = TimeSpan.FromMinutes(10);

    [Fact]
    public async Task A_signed_in_user_creates_a_machine_and_sees_it_reach_running_on_the_list_without_a_reload()
    {
        var (key, api) = await server.NewOrgAsync("live");
        using var _ = api;
        using var browser = new Browser();
        server.SignIn(browser, key);
        Assert.True(browser.Driver.FindElement(By.Id("empty")).Displayed, "an org without machines sees the empty state");
        browser.Script("window.__sameDocument = 'still here';");

        browser.Driver.FindElement(By.CssSelector("#create-panel > summary")).Click();
        var form = browser.Driver.FindElement(By.Id("create"));
        Fill(form, "name", "web-1");
        Fill(form, "memory_mib", "512");
        Fill(form, "storage_gib", "1");
        form.FindElement(By.CssSelector("button[type=submit]")).Click();

        var row = browser.Until(d => d.FindElements(By.CssSelector("#machines tr[data-machine-id]")).SingleOrDefault(), "the new machine on the list")!;
        Assert.Equal("web-1", row.FindElement(By.CssSelector(".machine-name")).Text);
        browser.Until(
            d => d.FindElement(By.CssSelector("#machines tr[data-machine-id]")).GetAttribute("data-phase") == MachinePhases.Running,
            "the machine to show as running", MachineStart);

        // Arrived through the stream: the page that asked is the page that shows it.
        Assert.Equal("still here", browser.Script("return window.__sameDocument;"));
        Assert.Equal("running", browser.Driver.FindElement(By.CssSelector("#machines tr[data-machine-id] .phase")).Text);
        browser.SaveScreenshot("machines");
    }

    [Fact]
    public async Task After_sign_out_the_old_cookie_is_refused_and_the_api_never_took_it()
    {
        var (key, api) = await server.NewOrgAsync("signout");
        using var _ = api;
        using var browser = new Browser();
        server.SignIn(browser, key);
        var cookie = browser.Driver.Manage().Cookies.GetCookieNamed("dedalus_console");
        Assert.NotNull(cookie);
        Assert.True(cookie.IsHttpOnly);
        Assert.Equal("Strict", cookie.SameSite);
        Assert.Equal("/console", cookie.Path);

        using var http = new HttpClient(new HttpClientHandler { UseCookies = false }) { BaseAddress = server.BaseAddress, Timeout = TimeSpan.FromSeconds(60) };
        Assert.Equal(HttpStatusCode.OK, (await GetWithCookieAsync(http, "/console/api/machines", cookie.Value)).StatusCode);
        var v1 = await GetWithCookieAsync(http, "/v1/machines", cookie.Value);
        Assert.Equal(HttpStatusCode.Unauthorized, v1.StatusCode);

        browser.Driver.FindElement(By.Id("signout")).Click();
        browser.Until(d => d.Url.EndsWith("/console/login", StringComparison.Ordinal), "the sign-in page after sign-out");
        Assert.Null(browser.Driver.Manage().Cookies.GetCookieNamed("dedalus_console"));

        var after = await GetWithCookieAsync(http, "/console/api/machines", cookie.Value);
        Assert.Equal(HttpStatusCode.Unauthorized, after.StatusCode);
        Assert.Equal(ErrorCodes.AuthRequired, (await ErrorAsync(after)).ErrorCode);
    }

    [Fact]
    public async Task A_form_posted_from_another_origin_is_refused_with_403_and_changes_nothing()
    {
        var (key, api) = await server.NewOrgAsync("xsite");
        using var _ = api;
        using var browser = new Browser();
        server.SignIn(browser, key);
        var create = new Uri(server.BaseAddress, "/console/api/machines");

        // The classic trick for a JSON endpoint: a text/plain form whose body reads as JSON.
        await using (var page = await CrossSitePage.StartAsync(create, new Dictionary<string, string> { ["{\"name\":\"forged\",\"x\":\""] = "\"}" }, "text/plain"))
        {
            foreach (var origin in new[] { $"http://127.0.0.1:{page.Port}/", $"http://localhost:{page.Port}/" })
            {
                browser.Driver.Navigate().GoToUrl(origin);
                browser.Until(d => d.Url.StartsWith(create.AbsoluteUri, StringComparison.Ordinal) && d.PageSource.Contains(ErrorCodes.Forbidden, StringComparison.Ordinal), $"the console's refusal of the post from {origin}");
            }
        }

        // The sign-in form too: another site cannot sign this browser into an org of its choosing.
        var (otherKey, otherApi) = await server.NewOrgAsync("attacker");
        otherApi.Dispose();
        await using (var page = await CrossSitePage.StartAsync(new Uri(server.BaseAddress, "/console/login"), new Dictionary<string, string> { ["api_key"] = otherKey, ["login_token"] = "guessed" }))
        {
            browser.Driver.Navigate().GoToUrl($"http://localhost:{page.Port}/");
            browser.Until(d => d.Url.EndsWith("/console/login", StringComparison.Ordinal) && d.PageSource.Contains(ErrorCodes.Forbidden, StringComparison.Ordinal), "the refusal of the forged sign-in");
        }

        var machines = await api.GetFromJsonAsync("/v1/machines", DedalusJsonContext.Default.MachineList);
        Assert.Empty(machines!.Items);

        // The same request from the console's own page, with its token, is accepted: the refusals were about origin.
        browser.Driver.Navigate().GoToUrl(new Uri(server.BaseAddress, "/console"));
        browser.Until(d => d.FindElement(By.Id("live")).Text == "live", "the machines page");
        var statuses = (System.Collections.ObjectModel.ReadOnlyCollection<object>?)browser.Driver.ExecuteAsyncScript(
            "const done = arguments[arguments.length - 1];" +
            "const token = document.querySelector('meta[name=csrf-token]').content;" +
            "const post = headers => fetch('/console/api/machines', { method: 'POST', headers, body: '{\"name\":\"own\",\"memory_mib\":256,\"storage_gib\":1,\"autosleep\":\"never\"}' }).then(r => r.status);" +
            "post({ 'Content-Type': 'application/json' }).then(a => post({ 'Content-Type': 'application/json', 'X-CSRF-Token': token }).then(b => done([a, b])));");
        Assert.NotNull(statuses);
        Assert.Equal([403L, 200L], statuses.Select(Convert.ToInt64));
        var after = await api.GetFromJsonAsync("/v1/machines", DedalusJsonContext.Default.MachineList);
        Assert.Equal(["own"], after!.Items.Select(m => m.Name));
    }

    [Fact]
    public async Task A_machine_name_holding_markup_is_shown_as_text_and_runs_nothing()
    {
        const string Evil = "<img src=x onerror=document.title='pwned'><script>x=1";
        var (key, api) = await server.NewOrgAsync("xss");
        using var _ = api;
        var body = JsonSerializer.Serialize(new CreateMachineRequest(Vcpu: 1, MemoryMib: 256, StorageGib: 1, Autosleep: "never", Name: Evil), DedalusJsonContext.Default.CreateMachineRequest);
        using (var created = await api.PostAsync("/v1/machines", new StringContent(body, Encoding.UTF8, "application/json")))
        {
            Assert.Equal(HttpStatusCode.OK, created.StatusCode);
        }

        using var browser = new Browser();
        server.SignIn(browser, key);
        var name = browser.Until(d => d.FindElement(By.CssSelector("#machines tr[data-machine-id] .machine-name")), "the machine on the list");
        Assert.Equal(Evil, name.Text);
        Assert.Equal("Machines · Dedalus Machines", browser.Driver.Title);
        Assert.Equal(0L, browser.Script("return document.querySelectorAll('#machines img, #machines script').length;"));

        name.Click();
        browser.Until(d => d.FindElement(By.Id("title")).Text == Evil, "the machine page with the name as its title");
        Assert.Equal(Evil + " · Dedalus Machines", browser.Driver.Title);
        Assert.Equal(0L, browser.Script("return document.querySelectorAll('main img, main script').length;"));
    }

    [Fact]
    public async Task On_a_machine_page_a_session_is_revoked_and_the_machine_put_to_sleep_and_deleted_after_a_confirmation()
    {
        var (key, api) = await server.NewOrgAsync("manage");
        using var _ = api;
        var body = JsonSerializer.Serialize(new CreateMachineRequest(Vcpu: 1, MemoryMib: 256, StorageGib: 1, Autosleep: "never", Name: "box"), DedalusJsonContext.Default.CreateMachineRequest);
        Machine machine;
        using (var created = await api.PostAsync("/v1/machines", new StringContent(body, Encoding.UTF8, "application/json")))
        {
            machine = JsonSerializer.Deserialize(await created.Content.ReadAsStringAsync(), DedalusJsonContext.Default.Machine)!;
        }

        using var keys = new Dedalus.Testing.TempDirectory("dedalus-console-key-");
        var keygen = await Dedalus.Testing.ProcessRunner.RunAsync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-f", keys.Combine("id")]);
        Assert.Equal(0, keygen.ExitCode);
        var request = JsonSerializer.Serialize(new CreateSshSessionRequest(File.ReadAllText(keys.Combine("id.pub")).Trim()), DedalusJsonContext.Default.CreateSshSessionRequest);
        SshSession session;
        using (var opened = await api.PostAsync($"/v1/machines/{machine.MachineId}/ssh", new StringContent(request, Encoding.UTF8, "application/json")))
        {
            session = JsonSerializer.Deserialize(await opened.Content.ReadAsStringAsync(), DedalusJsonContext.Default.SshSession)!;
        }

        using var browser = new Browser();
        server.SignIn(browser, key);
        browser.Until(d => d.FindElement(By.CssSelector("#machines .machine-name")), "the machine on the list").Click();
        browser.Until(d => d.FindElement(By.Id("title")).Text == "box", "the machine page");

        browser.Until(d => d.FindElement(By.Id("live-empty")).Displayed && d.FindElement(By.Id("history-empty")).Displayed, "the connections: none live, none recorded");
        var row = $"#sessions tr[data-session-id='{session.SessionId}']";
        browser.Until(d => d.FindElement(By.CssSelector(row + " button.revoke")), "the session with its revoke button").Click();
        browser.Until(d => d.FindElement(By.CssSelector(row)).GetAttribute("data-status") == SshSessionStatuses.Closed, "the session closed");

        browser.Until(d => d.FindElement(By.Id("sleep")), "the sleep button").Click();
        browser.Until(d => d.FindElement(By.Id("wake")).Displayed, "the machine asked to sleep (wake offered)");

        browser.Driver.FindElement(By.Id("delete")).Click();
        browser.Until(d => d.FindElement(By.Id("confirm")).Displayed, "the confirmation");
        Assert.Contains("box", browser.Driver.FindElement(By.Id("confirm-text")).Text, StringComparison.Ordinal);
        browser.Driver.FindElement(By.CssSelector("#confirm button[value=cancel]")).Click();
        var kept = await api.GetFromJsonAsync($"/v1/machines/{machine.MachineId}", DedalusJsonContext.Default.Machine);
        Assert.Equal(DesiredStates.Sleeping, kept!.DesiredState);

        browser.Driver.FindElement(By.Id("delete")).Click();
        browser.Until(d => d.FindElement(By.Id("confirm-ok")).Displayed, "the confirmation again");
        browser.Driver.FindElement(By.Id("confirm-ok")).Click();
        browser.Until(d => !d.FindElement(By.Id("delete")).Displayed, "the machine shown as being destroyed");
        var gone = await api.GetFromJsonAsync($"/v1/machines/{machine.MachineId}", DedalusJsonContext.Default.Machine);
        Assert.Equal(DesiredStates.Destroyed, gone!.DesiredState);
    }

    private static void Fill(IWebElement form, string field, string value)
    {
        var input = form.FindElement(By.Name(field));
        input.Clear();
        input.SendKeys(value);
    }

    private static async Task<HttpResponseMessage> GetWithCookieAsync(HttpClient http, string path, string cookie)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, path);
        request.Headers.Add("Cookie", "dedalus_console=" + cookie);
        return await http.SendAsync(request);
    }

    private static async Task<ErrorEnvelope> ErrorAsync(HttpResponseMessage response) =>
        JsonSerializer.Deserialize(await response.Content.ReadAsStringAsync(), DedalusJsonContext.Default.ErrorEnvelope)!;
}
