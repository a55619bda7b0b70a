using System.CommandLine;
using System.Diagnostics;
using Dedalus.Cli.Processes;
using Dedalus.Client;
using Dedalus.Contracts;

namespace Dedalus.Cli.Commands;

/// <summary>
/// <c>dedalus ssh &lt;machine_id&gt; [ssh options] [-- command...]</c>: ephemeral key, session, wait (waking the
/// machine), private temporary files, then real <c>ssh</c> with strict host checking against the session's host CA.
/// The remote exit code is passed through; the temporary directory is removed on every path, signals included.
/// </summary>
internal static class SshCommand
{
    public static Command Create(GlobalOptions global)
    {
        var machineId = new Argument<string>("machine_id") { Description = "Machine id: dm-<uuid> or the bare uuid" };
        var remote = new Argument<string[]>("command")
        {
            Description = "Remote command and its arguments (put them after --)",
            Arity = ArgumentArity.ZeroOrMore,
        };
        var timing = new Option<bool>("--timing") { Description = "Print create / wake / ready / connect / first byte times to stderr" };
        var keepSession = new Option<bool>("--keep-session")
        {
            Description = "Leave the session (and its certificate) valid after ssh exits; by default it is closed and revoked",
        };
        var timeout = new Option<double>("--wait-timeout")
        {
            Description = "Seconds to wait for the session to become ready",
            DefaultValueFactory = _ => 120,
        };
        var passThrough = new (Option Option, string Flag)[]
        {
            (new Option<string[]>("-L") { Description = "Local port forward (passed to ssh)", HelpName = "spec" }, "-L"),
            (new Option<string[]>("-R") { Description = "Remote port forward (passed to ssh)", HelpName = "spec" }, "-R"),
            (new Option<string[]>("-D") { Description = "Dynamic SOCKS forward (passed to ssh)", HelpName = "port" }, "-D"),
            (new Option<string[]>("-o") { Description = "Extra OpenSSH option Name=value (passed to ssh)", HelpName = "option" }, "-o"),
            (new Option<bool>("-A") { Description = "Forward the agent (passed to ssh)" }, "-A"),
            (new Option<bool>("-t") { Description = "Force a pseudo-terminal (passed to ssh)" }, "-t"),
            (new Option<bool>("-T") { Description = "Disable the pseudo-terminal (passed to ssh)" }, "-T"),
            (new Option<bool>("-N") { Description = "No remote command, for forwarding only (passed to ssh)" }, "-N"),
            (new Option<bool>("-v") { Description = "Verbose ssh (passed to ssh)" }, "-v"),
            (new Option<bool>("-q") { Description = "Quiet ssh (passed to ssh)" }, "-q"),
        };
        var command = new Command("ssh", "Open an SSH shell (or run a command) on a machine with a fresh short-lived certificate")
        {
            machineId,
            remote,
            timing,
            keepSession,
            timeout,
        };
        foreach (var (option, _) in passThrough)
        {
            command.Add(option);
        }

        command.SetAction((parseResult, _) => CommandRunner.RunAsync(() =>
        {
            if (!MachineIds.TryParse(parseResult.GetValue(machineId), out var id))
            {
                throw new CliException(
                    $"'{parseResult.GetValue(machineId)}' is not a machine id: pass dm-<uuid> or the bare uuid (see `dedalus machines list`)",
                    ExitCodes.Usage);
            }

            var extra = new List<string>();
            foreach (var (option, flag) in passThrough)
            {
                switch (option)
                {
                    case Option<string[]> list:
                        foreach (var value in parseResult.GetValue(list) ?? [])
                        {
                            extra.Add(flag);
                            extra.Add(value);
                        }

                        break;
                    case Option<bool> toggle when parseResult.GetValue(toggle):
                        extra.Add(flag);
                        break;
                }
            }

            var settings = new SshRun(
                id,
                extra,
                parseResult.GetValue(remote) ?? [],
                parseResult.GetValue(timing),
                parseResult.GetValue(keepSession),
                TimeSpan.FromSeconds(parseResult.GetValue(timeout)));
            return RunAsync(global, parseResult, settings);
        }));
        return command;
    }

    private static async Task<int> RunAsync(GlobalOptions global, ParseResult parseResult, SshRun run)
    {
        var ssh = Executables.Find("ssh")
            ?? throw new CliException("ssh not found on PATH: install OpenSSH (apt-get install openssh-client)");
        using var signals = new SignalScope();
        var ct = signals.Token;
        var clock = Stopwatch.StartNew();
        using var client = global.CreateClient(parseResult);
        using var progress = ProgressLine.Start(run.MachineId);
        SshSessionFiles? files = null;
        SshSession? session = null;
        try
        {
            var keyPair = SshKeyPair.GenerateEd25519();
            session = await client.Machines.Ssh.CreateAsync(run.MachineId, keyPair.PublicKey, ct);
            var created = clock.Elapsed;
            session = await client.Machines.Ssh.WaitUntilReadyAsync(session, run.WaitTimeout, progress, ct);
            var ready = clock.Elapsed;
            progress.Dispose();
            files = SshSessionFiles.Create(session, keyPair);
            var arguments = files.GetSshArguments(run.ExtraOptions, run.RemoteCommand);
            var (exitCode, started, firstByte) = await RunSshAsync(ssh, arguments, run.Timing, signals, clock);
            if (run.Timing)
            {
                Console.Error.WriteLine(
                    $"timing: create {Ms(created)} ms, wake {Ms(ready - created)} ms, ready {Ms(ready)} ms, connect {Ms(started - ready)} ms, " +
                    $"first byte {(firstByte is { } f ? Ms(f - started).ToString(System.Globalization.CultureInfo.InvariantCulture) + " ms" : "none")}, total {Ms(clock.Elapsed)} ms");
            }

            return signals.SignalNumber != 0 ? signals.ExitCode : exitCode;
        }
        catch (OperationCanceledException) when (signals.SignalNumber != 0)
        {
            return signals.ExitCode;
        }
        finally
        {
            progress.Dispose();
            files?.Dispose();
            if (session is not null && !run.KeepSession)
            {
                await CloseSessionAsync(client, session);
            }
        }
    }

    /// <summary>
    /// Closes the session once ssh is done, so its certificate is revoked at once instead of staying valid until it
    /// expires (the official clients leave it open). Best effort, bounded, and never changes the exit code.
    /// </summary>
    private static async Task CloseSessionAsync(DedalusClient client, SshSession session)
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(5));
        try
        {
            await client.Machines.Ssh.DeleteAsync(session.MachineId, session.SessionId, cts.Token);
        }
        catch (Exception e) when (e is DedalusApiException or DedalusConnectionException or OperationCanceledException)
        {
            Console.Error.WriteLine(
                $"dedalus: could not close session {session.SessionId} ({e.Message}); its certificate stays valid until it expires" +
                (session.ExpiresAt is { } expires ? $" at {expires:u}" : string.Empty));
        }
    }

    private static async Task<(int ExitCode, TimeSpan Started, TimeSpan? FirstByte)> RunSshAsync(
        string ssh,
        IReadOnlyList<string> arguments,
        bool timing,
        SignalScope signals,
        Stopwatch clock)
    {
        var startInfo = new ProcessStartInfo(ssh) { UseShellExecute = false, RedirectStandardOutput = timing };
        foreach (var argument in arguments)
        {
            startInfo.ArgumentList.Add(argument);
        }

        signals.Token.ThrowIfCancellationRequested();
        using var process = Process.Start(startInfo) ?? throw new CliException("could not start ssh");
        var started = clock.Elapsed;
        signals.SetChild(process.Id);
        TimeSpan? firstByte = null;
        Task pump = Task.CompletedTask;
        if (timing)
        {
            pump = Task.Run(async () =>
            {
                var stdout = Console.OpenStandardOutput();
                var buffer = new byte[16 * 1024];
                int read;
                while ((read = await process.StandardOutput.BaseStream.ReadAsync(buffer)) > 0)
                {
                    firstByte ??= clock.Elapsed;
                    await stdout.WriteAsync(buffer.AsMemory(0, read));
                    await stdout.FlushAsync();
                }
            });
        }

        try
        {
            await process.WaitForExitAsync(signals.Token);
        }
        catch (OperationCanceledException)
        {
            // The signal was forwarded to ssh; give it a moment to end, then make sure it does.
            using var grace = new CancellationTokenSource(TimeSpan.FromSeconds(3));
            try
            {
                await process.WaitForExitAsync(grace.Token);
            }
            catch (OperationCanceledException)
            {
                process.Kill(entireProcessTree: true);
                await process.WaitForExitAsync(CancellationToken.None);
            }
        }
        finally
        {
            signals.ClearChild();
        }

        await pump.WaitAsync(TimeSpan.FromSeconds(5), CancellationToken.None).ConfigureAwait(false);
        return (process.ExitCode, started, firstByte);
    }

    private static long Ms(TimeSpan span) => (long)span.TotalMilliseconds;

    private sealed record SshRun(string MachineId, List<string> ExtraOptions, string[] RemoteCommand, bool Timing, bool KeepSession, TimeSpan WaitTimeout);
}
