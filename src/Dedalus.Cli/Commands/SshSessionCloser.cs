using System.Diagnostics;
using System.Runtime.InteropServices;
using Dedalus.Client;
using Dedalus.Contracts;

namespace Dedalus.Cli.Commands;

/// <summary>
/// Closes a <c>dedalus ssh</c> session (revoking its certificate) without keeping the user waiting: after ssh exits, a
/// detached child (<c>dedalus ssh --close-session ID MACHINE</c>, a session of its own, stdio on /dev/null) sends the
/// DELETE and retries it a few times, while the parent returns the prompt at once. When no child can be started, the
/// parent closes the session itself, as before.
/// </summary>
internal static partial class SshSessionCloser
{
    /// <summary>Hidden option that turns <c>dedalus ssh</c> into the closer child.</summary>
    public const string CloseSessionOption = "--close-session";

    /// <summary>Delays before the closer's attempts: about 15 s in all before it gives up on an unreachable server.</summary>
    internal static readonly TimeSpan[] RetryDelays =
    [
        TimeSpan.Zero, TimeSpan.FromMilliseconds(200), TimeSpan.FromMilliseconds(500), TimeSpan.FromSeconds(1),
        TimeSpan.FromSeconds(2), TimeSpan.FromSeconds(4), TimeSpan.FromSeconds(8),
    ];

    /// <summary>
    /// Starts the detached closer for session <paramref name="sessionId"/>; <see langword="false"/> when it could not be started
    /// (the caller then closes the session itself). The child gets the resolved server and key in its environment,
    /// never on its command line.
    /// </summary>
    public static bool TryHandOff(DedalusClientOptions options, string machineId, string sessionId)
    {
        var self = Environment.ProcessPath;
        if (self is null || !SshSessionIds.IsWellFormed(sessionId))
        {
            return false;
        }

        var startInfo = new ProcessStartInfo(self)
        {
            UseShellExecute = false,
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        if (Path.GetFileNameWithoutExtension(self) == "dotnet")
        {
            startInfo.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "dedalus.dll"));
        }

        foreach (var argument in new[] { "ssh", CloseSessionOption, sessionId, machineId })
        {
            startInfo.ArgumentList.Add(argument);
        }

        var environment = startInfo.Environment;
        environment["DEDALUS_BASE_URL"] = options.BaseUrl?.ToString() ?? string.Empty;
        environment["DEDALUS_API_KEY"] = options.ApiKey ?? string.Empty;
        environment["DEDALUS_X_API_KEY"] = options.XApiKey ?? string.Empty;
        environment["DEDALUS_ORG_ID"] = options.OrgId ?? string.Empty;
        // Only what was resolved above: no credentials file may add a key the parent did not use.
        environment["DEDALUS_CREDENTIALS_FILE"] = OperatingSystem.IsWindows() ? "NUL" : "/dev/null";
        // A framework-dependent build would otherwise leave its diagnostics pipes in TMPDIR while it runs on.
        environment["DOTNET_EnableDiagnostics"] = "0";
        try
        {
            using var child = Process.Start(startInfo);
            if (child is null)
            {
                return false;
            }

            // The child moves its stdio to /dev/null first thing; our ends of its pipes are not read.
            child.StandardInput.Close();
            child.StandardOutput.Close();
            child.StandardError.Close();
            return true;
        }
        catch (Exception e) when (e is System.ComponentModel.Win32Exception or InvalidOperationException or IOException)
        {
            return false;
        }
    }

    /// <summary>
    /// The closer child: leaves the terminal's session, puts its stdio on /dev/null, and deletes the session, retrying on
    /// connection failures, 429 and 5xx. A session already gone (404) counts as closed. Always exits 0: nobody reads it.
    /// </summary>
    public static async Task<int> RunDetachedAsync(DedalusClient client, string machineId, string sessionId)
    {
        Detach();
        foreach (var delay in RetryDelays)
        {
            await Task.Delay(delay).ConfigureAwait(false);
            using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(10));
            try
            {
                await client.Machines.Ssh.DeleteAsync(machineId, sessionId, cts.Token).ConfigureAwait(false);
                return ExitCodes.Ok;
            }
            catch (DedalusNotFoundException)
            {
                return ExitCodes.Ok;
            }
            catch (DedalusApiException e) when (e is not (DedalusRateLimitException or DedalusServerException))
            {
                return ExitCodes.Ok;
            }
            catch (Exception e) when (e is DedalusException or OperationCanceledException or HttpRequestException or IOException)
            {
                // Retried after the next delay.
            }
        }

        return ExitCodes.Ok;
    }

    /// <summary>
    /// A session of its own (no controlling terminal: no SIGINT or SIGHUP from it) and stdio on /dev/null. On Windows,
    /// off the console (no Ctrl+C or close event from it); its stdio are pipes the parent has closed already.
    /// </summary>
    private static void Detach()
    {
        if (OperatingSystem.IsWindows())
        {
            _ = FreeConsole();
            return;
        }

        _ = SetSid();
        var devNull = Open("/dev/null", 2 /* O_RDWR */);
        if (devNull >= 0)
        {
            for (var fd = 0; fd <= 2; fd++)
            {
                _ = Dup2(devNull, fd);
            }

            if (devNull > 2)
            {
                _ = Close(devNull);
            }
        }
    }

    [LibraryImport("kernel32.dll", SetLastError = true)]
    [return: MarshalAs(UnmanagedType.Bool)]
    private static partial bool FreeConsole();

    [LibraryImport("libc", EntryPoint = "setsid", SetLastError = true)]
    private static partial int SetSid();

    [LibraryImport("libc", EntryPoint = "open", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int Open(string path, int flags);

    [LibraryImport("libc", EntryPoint = "dup2", SetLastError = true)]
    private static partial int Dup2(int oldFd, int newFd);

    [LibraryImport("libc", EntryPoint = "close", SetLastError = true)]
    private static partial int Close(int fd);
}
