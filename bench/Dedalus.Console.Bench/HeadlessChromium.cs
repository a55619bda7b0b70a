using OpenQA.Selenium;
using OpenQA.Selenium.Chrome;
using OpenQA.Selenium.Support.UI;

namespace Dedalus.Console.Bench;

/// <summary>
/// Debian's Chromium, headless, through Debian's chromedriver (both paths given, so nothing is looked up or downloaded),
/// with a temporary profile. As root it needs <c>--no-sandbox</c>.
/// </summary>
internal sealed class HeadlessChromium : IDisposable
{
    private readonly string _profile = Directory.CreateTempSubdirectory("dedalus-bench-chromium-").FullName;
    private readonly TimeSpan _patience;

    public HeadlessChromium(TimeSpan patience)
    {
        _patience = patience;
        var options = new ChromeOptions { BinaryLocation = "/usr/bin/chromium" };
        options.AddArguments(
            "--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu", "--window-size=1280,900",
            "--no-first-run", "--no-default-browser-check", "--disable-extensions", "--disable-background-networking",
            "--disable-sync", "--disable-component-update", "--user-data-dir=" + _profile);
        var service = ChromeDriverService.CreateDefaultService("/usr/bin", "chromedriver");
        service.SuppressInitialDiagnosticInformation = true;
        Driver = new ChromeDriver(service, options, TimeSpan.FromSeconds(120));
        Driver.Manage().Timeouts().PageLoad = patience;
    }

    public ChromeDriver Driver { get; }

    /// <summary>Polls <paramref name="condition"/> until it gives a value (bounded).</summary>
    public T Until<T>(Func<IWebDriver, T> condition, string what)
    {
        var wait = new WebDriverWait(Driver, _patience) { PollingInterval = TimeSpan.FromMilliseconds(2), Message = "waiting for " + what };
        wait.IgnoreExceptionTypes(typeof(NoSuchElementException), typeof(StaleElementReferenceException));
        return wait.Until(condition);
    }

    public void Dispose()
    {
        try
        {
            Driver.Quit();
        }
        finally
        {
            Driver.Dispose();
            Directory.Delete(_profile, recursive: true);
        }
    }
}
