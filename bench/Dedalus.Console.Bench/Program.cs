using System.Globalization;
using System.Text;
using Dedalus.Console.Bench;
using OpenQA.Selenium;
using OpenQA.Selenium.Interactions;

// The web console in headless Debian Chromium against a dev server started by ./run (./bench/run drives it), each figure
// next to a baseline measured in the same run; prints a markdown section.
// Usage: Dedalus.Console.Bench --credentials FILE --machine ID [--runs N] [--keys N]
//   --runs: page loads of each page (default 20); --keys: keystrokes in each terminal (default 100).
var credentials = Option("--credentials") ?? throw new ArgumentException("--credentials FILE is required");
var machineId = Option("--machine") ?? throw new ArgumentException("--machine ID is required");
var runs = int.Parse(Option("--runs") ?? "20", CultureInfo.InvariantCulture);
var keys = int.Parse(Option("--keys") ?? "100", CultureInfo.InvariantCulture);
var values = File.ReadAllLines(credentials).Select(l => l.Split('=', 2)).Where(p => p.Length == 2)
    .ToDictionary(p => p[0].Trim(), p => p[1].Trim(), StringComparer.Ordinal);
var baseUrl = values["DEDALUS_BASE_URL"].TrimEnd('/');
var apiKey = values["DEDALUS_API_KEY"];
var patience = TimeSpan.FromSeconds(60);

using var browser = new HeadlessChromium(patience);
var driver = browser.Driver;
var report = new StringBuilder();
var version = driver.Capabilities.GetCapability("browserVersion");

// Sign in through the form, as a person does.
driver.Navigate().GoToUrl(baseUrl + "/console");
driver.FindElement(By.Id("api_key")).SendKeys(apiKey);
driver.FindElement(By.CssSelector("#signin button[type=submit]")).Click();
browser.Until(d => d.FindElements(By.CssSelector($"tr[data-machine-id='{machineId}']")).Count > 0, "the machine on the console's list");

// 1. Page load: the machines page (HTML, module scripts, the live list) vs /healthz of the same server (one line of text),
// interleaved, warm (the second and later loads of a page keep its cached assets, like a person coming back).
const string Timings =
    """
    const paint = performance.getEntriesByName('first-contentful-paint')[0];
    const nav = performance.getEntriesByType('navigation')[0];
    return paint ? [paint.startTime, nav.domContentLoadedEventEnd, nav.loadEventEnd] : null;
    """;
var plainPaint = new List<double>();
var consolePaint = new List<double>();
var consoleLoaded = new List<double>();
var consoleListed = new List<double>();
for (var i = -1; i < runs; i++)
{
    driver.Navigate().GoToUrl(baseUrl + "/healthz");
    var plain = browser.Until(d => ((IJavaScriptExecutor)d).ExecuteScript(Timings) as IReadOnlyCollection<object>, "the plain page's paint timing")!;
    driver.Navigate().GoToUrl(baseUrl + "/console");
    var listed = browser.Until(
        d => ((IJavaScriptExecutor)d).ExecuteScript($"return document.querySelector(\"tr[data-machine-id='{machineId}']\") ? performance.now() : null;"),
        "the machine on the list");
    var page = browser.Until(d => ((IJavaScriptExecutor)d).ExecuteScript(Timings) as IReadOnlyCollection<object>, "the console's paint timing")!;
    if (i < 0)
    {
        continue; // the first load of each page fills the cache
    }

    plainPaint.Add(Number(plain.First()));
    consolePaint.Add(Number(page.First()));
    consoleLoaded.Add(Number(page.Last()));
    consoleListed.Add(Number(listed));
}

report.AppendLine("## Web console (headless Chromium)").AppendLine()
    .AppendLine(CultureInfo.InvariantCulture, $"Debian Chromium {version} headless, driven by chromedriver; the dev server of ./run on loopback. {runs} loads of each page, interleaved, after one load that fills the cache. \"Listed\" is when the machine's row is on the page (polled by the driver, so up to a few ms late).").AppendLine()
    .AppendLine("| figure (ms) | median | p90 | min |").AppendLine("|---|---:|---:|---:|")
    .AppendLine(Row("`/healthz`, first contentful paint (baseline)", plainPaint))
    .AppendLine(Row("`/console` machines page, first contentful paint", consolePaint))
    .AppendLine(Row("`/console` machines page, load event", consoleLoaded))
    .AppendLine(Row("`/console` machines page, machine listed", consoleListed))
    .AppendLine()
    .AppendLine(CultureInfo.InvariantCulture, $"Console first contentful paint / plain page: **{Median(consolePaint) / Median(plainPaint):F2}x**.").AppendLine();

// 2. Keystroke echo: one key, then its echo on the screen, in the browser terminal (keydown to the row's text changing,
// measured in the page: WebSocket, the server's ssh on a PTY, the gateway, sshd, and xterm.js rendering) vs ssh on a
// pseudo-terminal here (write the byte to the master, read its echo: the same ssh, gateway and sshd). Interleaved blocks.
driver.Navigate().GoToUrl($"{baseUrl}/console/machines/{Uri.EscapeDataString(machineId)}/terminal");
browser.Until(d => d.FindElement(By.Id("banner")).GetDomAttribute("data-state") == "ok", "the terminal to be connected");
browser.Until(d => ((IJavaScriptExecutor)d).ExecuteScript("const r = document.querySelector('.xterm-rows'); return r && /[$#] *$/.test(r.textContent.trimEnd() + ' ') && r.textContent.trim().length > 0;") is true, "a shell prompt in the browser terminal");
((IJavaScriptExecutor)driver).ExecuteScript(
    """
    const rows = document.querySelector('.xterm-rows');
    window.__echo = [];
    window.__frame = [];
    window.__pending = null;
    document.addEventListener('keydown', e => {
      window.__pending = e.key === 'a' ? { t: e.timeStamp, length: rows.textContent.length } : null;
      if (e.key === 'a') {
        const t = e.timeStamp;
        requestAnimationFrame(() => window.__frame.push(performance.now() - t));
      }
    }, true);
    new MutationObserver(() => {
      const p = window.__pending;
      if (p && rows.textContent.length > p.length) {
        window.__echo.push(performance.now() - p.t);
        window.__pending = null;
      }
    }).observe(rows, { subtree: true, childList: true, characterData: true });
    """);
driver.FindElement(By.CssSelector(".xterm")).Click();
var textLength = (Func<long>)(() => (long)((IJavaScriptExecutor)driver).ExecuteScript("return document.querySelector('.xterm-rows').textContent.length;")!);

await using var ssh = await SshOnPseudoTerminal.StartAsync(baseUrl, apiKey, machineId, patience);
await using var socket = await WebSocketTerminal.OpenAsync(baseUrl, driver.Manage().Cookies.GetCookieNamed("dedalus_console")!.Value, machineId, patience);
var inBrowser = new List<double>();
var overSocket = new List<double>();
var overSsh = new List<double>();
const int Block = 10;
for (var done = -Block; done < keys; done += Block)
{
    for (var k = 0; k < Block; k++)
    {
        var before = textLength();
        var measured = (long)((IJavaScriptExecutor)driver).ExecuteScript("return window.__echo.length;")!;
        new Actions(driver).SendKeys("a").Perform();
        var latency = browser.Until(
            d => ((IJavaScriptExecutor)d).ExecuteScript("return window.__echo.length > arguments[0] ? window.__echo[window.__echo.length - 1] : null;", measured),
            "the echo of a key in the browser terminal");
        new Actions(driver).SendKeys(Keys.Backspace).Perform();
        browser.Until(_ => textLength() <= before, "the erased key in the browser terminal");
        var echo = await ssh.EchoAsync();
        var bridged = await socket.EchoAsync();
        if (done >= 0)
        {
            inBrowser.Add(Number(latency));
            overSsh.Add(echo);
            overSocket.Add(bridged);
        }
    }
}

var frames = ((IEnumerable<object>)((IJavaScriptExecutor)driver).ExecuteScript("return window.__frame;")!).Select(Number).Skip(Block).ToList();
report.AppendLine("### Keystroke echo").AppendLine()
    .AppendLine(CultureInfo.InvariantCulture, $"{keys} keys each, interleaved one for one after {Block} warm-up keys: `a` at a bash prompt of the running machine, then Backspace. Browser: keydown to the row's text growing (the DOM renderer's update, measured in the page). ssh: the byte written to a pseudo-terminal's master to its echo read back, through the same gateway and sshd with a certificate of its own. WebSocket: the browser session's cookie on a .NET WebSocket client, a binary frame out to the echo's frame back.").AppendLine()
    .AppendLine("| figure (ms) | median | p90 | min |").AppendLine("|---|---:|---:|---:|")
    .AppendLine(Row("`ssh` on a pseudo-terminal (baseline)", overSsh))
    .AppendLine(Row("the terminal's WebSocket without a browser (server-side ssh)", overSocket))
    .AppendLine(Row("browser terminal (xterm.js, WebSocket, server-side ssh)", inBrowser))
    .AppendLine(Row("browser: keydown to its next animation frame (no network: the page's frame floor)", frames))
    .AppendLine()
    .AppendLine(CultureInfo.InvariantCulture, $"Browser terminal / ssh: **{Median(inBrowser) / Median(overSsh):F2}x** (median), {Percentile(inBrowser, 0.9) / Percentile(overSsh, 0.9):F2}x (p90). WebSocket alone / ssh: {Median(overSocket) / Median(overSsh):F2}x (median).").AppendLine();
System.Console.Write(report.ToString());
return 0;

static double Number(object? value) => Convert.ToDouble(value, CultureInfo.InvariantCulture);

static string Row(string name, IReadOnlyList<double> values) =>
    string.Create(CultureInfo.InvariantCulture, $"| {name} | {Median(values):F1} | {Percentile(values, 0.9):F1} | {values.Min():F1} |");

static double Median(IReadOnlyList<double> values)
{
    var sorted = values.Order().ToArray();
    return sorted.Length % 2 == 1 ? sorted[sorted.Length / 2] : (sorted[(sorted.Length / 2) - 1] + sorted[sorted.Length / 2]) / 2;
}

static double Percentile(IReadOnlyList<double> values, double p)
{
    var sorted = values.Order().ToArray();
    return sorted[Math.Min(sorted.Length - 1, (int)(p * sorted.Length))];
}

string? Option(string name)
{
    var index = Array.IndexOf(args, name);
    return index >= 0 && index + 1 < args.Length ? args[index + 1] : null;
}
