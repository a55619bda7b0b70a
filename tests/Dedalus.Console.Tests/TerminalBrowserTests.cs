using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Dedalus.Console.Tests.Infrastructure;
using Dedalus.Contracts;
using OpenQA.Selenium;

namespace Dedalus.Console.Tests;

/// <summary>
/// The browser terminal in headless Chromium: xterm.js over the console's WebSocket to the server, which runs OpenSSH
/// `ssh` on a pseudo-terminal to a real runc machine through the gateway, with a session of its own.
/// </summary>
public sealed class TerminalBrowserTests(ConsoleServer server) : IClassFixture<ConsoleServer>
{
    /// <summary>A machine reaching running on a busy shared host (the base image is built once per host).</summary>
    private static readonly TimeSpan MachineStart = TimeSpan.FromMinutes(10);

    [Fact]
    public async Task The_terminal_answers_a_command_ends_when_another_tab_revokes_its_session_and_closing_a_tab_closes_its_session()
    {
        var (key, api) = await server.NewOrgAsync("terminal");
        using var _ = api;
        var body = JsonSerializer.Serialize(new CreateMachineRequest(Vcpu: 1, MemoryMib: 256, StorageGib: 1, Autosleep: "never", Name: "shell"), DedalusJsonContext.Default.CreateMachineRequest);
        Machine machine;
        using (var created = await api.PostAsync("/v1/machines", new StringContent(body, Encoding.UTF8, "application/json")))
        {
            machine = JsonSerializer.Deserialize(await created.Content.ReadAsStringAsync(), DedalusJsonContext.Default.Machine)!;
        }

        using var browser = new Browser();
        server.SignIn(browser, key);
        var terminalTab = browser.Driver.CurrentWindowHandle;
        var sessionId = OpenTerminal(browser, machine.MachineId);

        // Typing reaches the machine's shell, and its answer reaches the screen.
        browser.Driver.FindElement(By.CssSelector("#terminal .xterm")).Click();
        new OpenQA.Selenium.Interactions.Actions(browser.Driver).SendKeys("echo $((6*7))" + Keys.Enter).Perform();
        browser.Until(_ => ScreenRows(browser).Any(r => r.Trim() == "42"), "42 on a line of its own");
        browser.SaveScreenshot("terminal");

        // The terminal's session is a session like any other: listed, and revocable from the machine page in another tab.
        var listed = await api.GetFromJsonAsync($"/v1/machines/{machine.MachineId}/ssh/{sessionId}", DedalusJsonContext.Default.SshSession);
        Assert.Equal(SshSessionStatuses.Ready, listed!.Status);
        browser.Driver.SwitchTo().NewWindow(WindowType.Tab);
        browser.Driver.Navigate().GoToUrl(new Uri(server.BaseAddress, $"/console/machines/{machine.MachineId}"));
        var row = $"#sessions tr[data-session-id='{sessionId}']";
        browser.Until(d => d.FindElement(By.CssSelector(row + " button.revoke")), "the terminal's session with its revoke button").Click();
        browser.Until(d => d.FindElement(By.CssSelector(row)).GetAttribute("data-status") == SshSessionStatuses.Closed, "the session shown closed");

        browser.Driver.SwitchTo().Window(terminalTab);
        var banner = browser.Until(d => d.FindElement(By.Id("banner")).GetAttribute("data-state") == "closed" ? d.FindElement(By.Id("banner")) : null, "the terminal shown closed");
        Assert.Equal("revoked", banner!.GetAttribute("data-code"));
        Assert.StartsWith("closed:", banner.Text, StringComparison.Ordinal);

        // A second terminal, in a tab that is then closed: its session ends with it.
        browser.Driver.SwitchTo().NewWindow(WindowType.Tab);
        var second = OpenTerminal(browser, machine.MachineId);
        Assert.NotEqual(sessionId, second);
        browser.Driver.Close();
        browser.Driver.SwitchTo().Window(terminalTab);
        var deadline = DateTime.UtcNow + Browser.Patience;
        SshSession? ended;
        do
        {
            await Task.Delay(200);
            ended = await api.GetFromJsonAsync($"/v1/machines/{machine.MachineId}/ssh/{second}", DedalusJsonContext.Default.SshSession);
        }
        while (ended!.Status != SshSessionStatuses.Closed && DateTime.UtcNow < deadline);
        Assert.Equal(SshSessionStatuses.Closed, ended.Status);
    }

    /// <summary>Opens the machine's terminal in the current tab; returns its session id once a shell prompt shows.</summary>
    private string OpenTerminal(Browser browser, string machineId)
    {
        browser.Driver.Navigate().GoToUrl(new Uri(server.BaseAddress, $"/console/machines/{machineId}/terminal"));
        var banner = browser.Until(d => d.FindElement(By.Id("banner")).GetAttribute("data-state") == "ok" ? d.FindElement(By.Id("banner")) : null, "the terminal connected", MachineStart)!;
        var sessionId = banner.Text.Split(' ', StringSplitOptions.RemoveEmptyEntries).Select(w => w.Trim('(', ')')).Single(w => w.StartsWith("ss-", StringComparison.Ordinal));
        browser.Until(_ => ScreenRows(browser).Any(r => r.TrimEnd().EndsWith('$') || r.TrimEnd().EndsWith('#')), "a shell prompt");
        return sessionId;
    }

    /// <summary>The terminal's rows as xterm.js renders them (its DOM renderer: one element per row).</summary>
    private static IReadOnlyList<string> ScreenRows(Browser browser) =>
        ((IEnumerable<object>)browser.Script("return Array.from(document.querySelectorAll('#terminal .xterm-rows > div'), r => r.textContent);")!)
            .Select(r => ((string)r).Replace('\u00a0', ' '))
            .ToList();
}
