using OpenQA.Selenium;
using OpenQA.Selenium.Chrome;
using OpenQA.Selenium.Support.UI;

namespace Dedalus.Console.Tests.Infrastructure;

/// <summary>
/// Debian's Chromium, headless, driven through Debian's chromedriver: both paths are given, so Selenium Manager never
/// looks for (or downloads) a browser or a driver. Each browser has its own temporary profile, removed with it.
/// Chromium runs as root here, which needs <c>--no-sandbox</c>.
/// </summary>
public sealed class Browser : IDisposable
{
    public const string ChromiumPath = "/usr/bin/chromium";
    public const string ChromeDriverPath = "/usr/bin/chromedriver";

    /// <summary>The bound of every wait on the page: generous, the host is shared and machines take their time.</summary>
    public static readonly TimeSpan Patience = TimeSpan.FromSeconds(60);

    private readonly string _profile = Directory.CreateTempSubdirectory("dedalus-chromium-").FullName;

    public Browser()
    {
        var options = new ChromeOptions { BinaryLocation = ChromiumPath };
        options.AddArguments(
            "--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu", "--window-size=1280,900",
            "--no-first-run", "--no-default-browser-check", "--disable-extensions", "--disable-background-networking",
            "--disable-sync", "--disable-component-update", "--user-data-dir=" + _profile);
        var service = ChromeDriverService.CreateDefaultService(Path.GetDirectoryName(ChromeDriverPath)!, Path.GetFileName(ChromeDriverPath));
        service.HideCommandPromptWindow = true;
        service.SuppressInitialDiagnosticInformation = true;
        Driver = new ChromeDriver(service, options, TimeSpan.FromSeconds(120));
        Driver.Manage().Timeouts().PageLoad = Patience;
    }

    public ChromeDriver Driver { get; }

    /// <summary>Waits (polling, bounded by <paramref name="timeout"/> or <see cref="Patience"/>) until <paramref name="condition"/> gives a value.</summary>
    public T Until<T>(Func<IWebDriver, T> condition, string what, TimeSpan? timeout = null)
    {
        var wait = new WebDriverWait(Driver, timeout ?? Patience) { PollingInterval = TimeSpan.FromMilliseconds(100), Message = "waiting for " + what };
        wait.IgnoreExceptionTypes(typeof(NoSuchElementException), typeof(StaleElementReferenceException));
        return wait.Until(condition);
    }

    public object? Script(string script, params object[] arguments) => Driver.ExecuteScript(script, arguments);

    /// <summary>Saves a PNG of the page as <c>artifacts/test-results/screenshots/NAME.png</c> in the repository.</summary>
    public string SaveScreenshot(string name)
    {
        var directory = Path.Combine(RepositoryRoot(), "artifacts", "test-results", "screenshots");
        Directory.CreateDirectory(directory);
        var path = Path.Combine(directory, name + ".png");
        Driver.GetScreenshot().SaveAsFile(path);
        return path;
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

    private static string RepositoryRoot()
    {
        for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
        {
            if (File.Exists(Path.Combine(directory.FullName, "Dedalus.slnx")))
            {
                return directory.FullName;
            }
        }

        throw new InvalidOperationException($"no Dedalus.slnx above {AppContext.BaseDirectory}");
    }
}
