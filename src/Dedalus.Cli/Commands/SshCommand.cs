using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
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
            Description = "Remote command, after --; as with ssh, its words are joined with spaces and run by the remote shell",
            Arity = ArgumentArity.ZeroOrMore,
        };
        var timing = new Option<bool>("--timing") { Description = "Print create / wake / ready / connect / first byte times to stderr" };
        var keepSession = new Option<bool>("--keep-session")
        {
            Description = "Leave the session (and its certificate) valid after ssh exits; by default it is closed and revoked",
        };
        var timeout = new Option<double>("--wait-timeout")
        {
            Description = "Seconds to wait for the session to become ready (a sleeping machine wakes meanwhile)",
            DefaultValueFactory = _ => 120,
        };
        timeout.Validators.Add(result =>
        {
            // A value that is no number is System.CommandLine's error (converting it here would throw).
            if (result.Tokens is [.., var last] && double.TryParse(last.Value, NumberStyles.Float, CultureInfo.InvariantCulture, out var seconds) && seconds is not > 0)
            {
                result.AddError("--wait-timeout must be a number of seconds greater than 0");
            }
        });
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
        }.WithHelp("""
            Examples:
              dedalus ssh dm-<uuid>                              a shell (wakes the machine if it sleeps)
              dedalus ssh dm-<uuid> -- uname -a                  run a command; its exit code is dedalus's
              dedalus ssh dm-<uuid> -- "cd /tmp && ls -la"       one argument is a shell command line, as with ssh
              dedalus ssh dm-<uuid> -L 8080:localhost:80 -N      forward a port until Ctrl-C
              dedalus ssh dm-<uuid> -o ServerAliveInterval=30    any other OpenSSH option, with -o

            The remote words are joined with spaces, as ssh does: `-- sh -c 'exit 7'` runs `sh -c exit 7`;
            write `-- "sh -c 'exit 7'"` instead. For scp, rsync, sftp and IDEs, see `dedalus ssh-config --help`.
            """);
        foreach (var (option, _) in passThrough)
        {
            command.Add(option);
        }

        command.SetAction((parseResult, _) => CommandRunner.RunWithSignalsAsync(signals =>
        {
            if (!MachineIdInput.TryParse(parseResult.GetValue(machineId), out var id))
            {
                throw new CliException(
                    $"'{parseResult.GetValue(machineId)}' is not a machine id: pass dm-<uuid> or the bare uuid (see `dedalus machines list`)",
                    ExitCodes.Usage);
            }

            if (UnknownOptionBeforeDoubleDash(parseResult, remote) is { } unknown)
            {
                throw new CliException(
                    $"unknown option '{unknown}': dedalus ssh passes -L -R -D -o -A -t -T -N -v -q to ssh (others as -o Name=value); " +
                    "put the remote command after --",
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
            return RunAsync(global, parseResult, settings, signals);
        }));
        return command;
    }

    /// <summary>
    /// The session, ssh, and the way out. A signal cancels <paramref name="signals"/>' token and is forwarded to ssh; the
    /// temporary files are removed and the session closed (with its own short timeout) on every path, and
    /// <see cref="CommandRunner"/> then reports the signal.
    /// </summary>
    private static async Task<int> RunAsync(GlobalOptions global, ParseResult parseResult, SshRun run, SignalScope signals)
    {
        var ssh = Executables.Find("ssh")
            ?? throw new CliException("ssh not found on PATH: install OpenSSH (apt-get install openssh-client)");
        var ct = signals.Token;
        var clock = Stopwatch.StartNew();
        using var client = global.CreateClient(parseResult);
        using var progress = ProgressLine.Start(run.MachineId);
        SshSessionFiles? files = null;
        SshSession? session = null;
        try
        {
            var keyPair = KeyGenerator.GenerateEd25519();
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

            return exitCode;
        }
        catch (DedalusSshSessionException e) when (e.Status is SshSessionStatuses.Failed or SshSessionStatuses.Expired or SshSessionStatuses.Closed)
        {
            // The session ended by itself: there is nothing to close, and a warning about it would be a second line.
            session = null;
            throw;
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
        catch (Exception e) when (e is DedalusApiException or DedalusConnectionException or OperationCanceledException or ArgumentException)
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

    /// <summary>
    /// The remote command's first word when it looks like an option and came before <c>--</c>: System.CommandLine hands
    /// unknown options to the remote command argument, so `dedalus ssh id -x` would otherwise run `-x` remotely.
    /// </summary>
    private static string? UnknownOptionBeforeDoubleDash(ParseResult parseResult, Argument<string[]> remote)
    {
        if (parseResult.GetResult(remote) is not { } result)
        {
            return null;
        }

        var doubleDash = -1;
        for (var i = 0; i < parseResult.Tokens.Count; i++)
        {
            if (parseResult.Tokens[i].Type == System.CommandLine.Parsing.TokenType.DoubleDash)
            {
                doubleDash = i;
                break;
            }
        }

        // Only the first word: as with ssh, once the command has started (`dedalus ssh id ls -la`), the rest is its own.
        if (result.Tokens.Count == 0)
        {
            return null;
        }

        var first = result.Tokens[0];
        var index = IndexOf(parseResult.Tokens, first);
        var beforeDoubleDash = doubleDash < 0 || (index >= 0 && index < doubleDash);
        return beforeDoubleDash && first.Value.Length > 1 && first.Value[0] == '-' ? first.Value : null;
    }

    private static int IndexOf(IReadOnlyList<System.CommandLine.Parsing.Token> tokens, System.CommandLine.Parsing.Token token)
    {
        for (var i = 0; i < tokens.Count; i++)
        {
            if (ReferenceEquals(tokens[i], token))
            {
                return i;
            }
        }

        return -1;
    }

    private static long Ms(TimeSpan span) => (long)span.TotalMilliseconds;

    private sealed record SshRun(string MachineId, List<string> ExtraOptions, string[] RemoteCommand, bool Timing, bool KeepSession, TimeSpan WaitTimeout);
}
