using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using Dedalus.Cli.Configuration;
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
        var machineId = new Argument<string?>("machine_id")
        {
            Description = "Machine id (the uuid, or dm-<uuid>) or name; on a terminal, leave it out to pick one from a list",
            Arity = ArgumentArity.ZeroOrOne,
        };
        var remote = new Argument<string[]>("command")
        {
            Description = "Remote command, after --; as with ssh, its words are joined with spaces and run by the remote shell",
            Arity = ArgumentArity.ZeroOrMore,
        };
        var timing = new Option<bool>("--timing") { Description = "Print the time of every phase to stderr: key, session create, wake, files, ssh start, TCP, server banner, key exchange, authentication, first byte, exit, session close (ssh's own phases from its -v lines, shown only with -v)" };
        var keepSession = new Option<bool>("--keep-session")
        {
            Description = "Leave the session (and its certificate) valid after ssh exits; by default it is closed and revoked",
        };
        var closeSession = new Option<string?>(SshSessionCloser.CloseSessionOption) { Hidden = true };
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
            closeSession,
        }.WithHelp("""
            Examples:
              dedalus ssh                                        pick a machine from a list (on a terminal)
              dedalus ssh <machine_id>                              a shell (wakes the machine if it sleeps)
              dedalus ssh <machine_id> -- uname -a                  run a command; its exit code is dedalus's
              dedalus ssh <machine_id> -- "cd /tmp && ls -la"       one argument is a shell command line, as with ssh
              dedalus ssh <machine_id> -L 8080:localhost:80 -N      forward a port until Ctrl-C
              dedalus ssh <machine_id> -o ServerAliveInterval=30    any other OpenSSH option, with -o

            The remote words are joined with spaces, as ssh does: `-- sh -c 'exit 7'` runs `sh -c exit 7`;
            write `-- "sh -c 'exit 7'"` instead. For scp, rsync, sftp and IDEs, see `dedalus ssh-config --help`.
            """);
        foreach (var (option, _) in passThrough)
        {
            command.Add(option);
        }

        command.SetAction((parseResult, _) =>
        {
            if (parseResult.GetValue(closeSession) is { } sessionToClose)
            {
                // The detached closer that a finished `dedalus ssh` started (see SshSessionCloser).
                return RunCloserAsync(global, parseResult, parseResult.GetValue(machineId), sessionToClose);
            }

            return CommandRunner.RunWithSignalsAsync(signals => StartAsync(global, parseResult, machineId, remote, timing, keepSession, timeout, passThrough, signals));
        });
        return command;
    }

    private static async Task<int> RunCloserAsync(GlobalOptions global, ParseResult parseResult, string? machineIdText, string sessionId)
    {
        if (!MachineIdInput.TryParseIdOrName(machineIdText, out var id, out _))
        {
            return ExitCodes.Usage;
        }

        using var client = global.CreateClient(parseResult);
        return await SshSessionCloser.RunDetachedAsync(client, id, sessionId);
    }

    private static Task<int> StartAsync(
        GlobalOptions global,
        ParseResult parseResult,
        Argument<string?> machineId,
        Argument<string[]> remote,
        Option<bool> timing,
        Option<bool> keepSession,
        Option<double> timeout,
        (Option Option, string Flag)[] passThrough,
        SignalScope signals)
    {
        {
            var (idText, remoteCommand) = MachineAndCommand(parseResult, machineId, remote);
            string? id = null;
            if (idText is null)
            {
                if (Console.IsInputRedirected || Console.IsErrorRedirected)
                {
                    throw new CliException(
                        "missing <machine_id>: see `dedalus ssh --help` (without one, dedalus ssh lets you pick a machine, but only when stdin and stderr are terminals)",
                        ExitCodes.Usage);
                }
            }
            else if (!MachineIdInput.TryParseIdOrName(idText, out id, out var problem))
            {
                throw new CliException(MachineIdInput.Error(idText, problem), ExitCodes.Usage);
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
                remoteCommand,
                parseResult.GetValue(timing),
                parseResult.GetValue(keepSession),
                TimeSpan.FromSeconds(parseResult.GetValue(timeout)));
            return RunAsync(global, parseResult, settings, signals);
        }
    }

    /// <summary>
    /// The machine id and the remote command. With the id left out, System.CommandLine gives the first word after
    /// <c>--</c> to the optional id (<c>dedalus ssh -- uname</c>): that word belongs to the command.
    /// </summary>
    private static (string? MachineId, string[] Command) MachineAndCommand(ParseResult parseResult, Argument<string?> machineId, Argument<string[]> remote)
    {
        var command = parseResult.GetValue(remote) ?? [];
        if (parseResult.GetResult(machineId) is not { Tokens: [var idToken, ..] })
        {
            return (null, command);
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

        var index = IndexOf(parseResult.Tokens, idToken);
        return doubleDash >= 0 && index > doubleDash ? (null, [idToken.Value, .. command]) : (idToken.Value, command);
    }

    /// <summary>
    /// The session, ssh, and the way out. A signal cancels <paramref name="signals"/>' token and is forwarded to ssh; the
    /// temporary files are removed and the session closed (with its own short timeout) on every path, and
    /// <see cref="CommandRunner"/> then reports the signal.
    /// </summary>
    private static async Task<int> RunAsync(GlobalOptions global, ParseResult parseResult, SshRun run, SignalScope signals)
    {
        var clock = Stopwatch.StartNew();
        var timing = new SshTiming(clock);

        // The key is made on another core (libsodium's load and init are most of its few milliseconds) while this one
        // finds ssh, reads the settings, opens the client and, without a machine id, lists the machines.
        var keyTask = Task.Run(() =>
        {
            var pair = KeyGenerator.GenerateEd25519();
            timing.Set(SshTiming.Mark.KeyGenerated);
            return pair;
        });
        var ssh = Executables.Find("ssh")
            ?? throw new CliException($"ssh not found on PATH: install OpenSSH ({Processes.KeyGenerator.InstallOpenSshHint})");
        var ct = signals.Token;
        var options = CliSettings.Require(CliSettings.Resolve(parseResult.GetValue(global.BaseUrl), parseResult.GetValue(global.ApiKey), parseResult.GetValue(global.OrgId)));
        using var client = global.CreateClient(parseResult);
        var machineId = run.MachineId ?? await PickMachineAsync(client, ct);
        using var progress = ProgressLine.Start(machineId);
        SshSessionFiles? files = null;
        SshSession? session = null;
        try
        {
            var keyPair = await keyTask;
            session = await client.Machines.Ssh.CreateAsync(machineId, keyPair.PublicKey, ct);
            timing.Set(SshTiming.Mark.SessionCreated);
            session = await client.Machines.Ssh.WaitUntilReadyAsync(session, run.WaitTimeout, progress, ct);
            timing.Set(SshTiming.Mark.SessionReady);
            progress.Dispose();
            files = SshSessionFiles.Create(session, keyPair);
            timing.Set(SshTiming.Mark.FilesWritten);
            var arguments = files.GetSshArguments([.. run.ExtraOptions, .. SshTuning.For(run.ExtraOptions)], run.RemoteCommand);
            var exitCode = await RunSshAsync(ssh, arguments, run, timing, signals);
            timing.Set(SshTiming.Mark.SshExited);
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
            if (session is null || run.KeepSession)
            {
                timing.CloseMode = "kept";
            }
            else if (SshSessionCloser.TryHandOff(options, session.MachineId ?? machineId, session.SessionId))
            {
                timing.CloseMode = "detached";
                timing.Set(SshTiming.Mark.SessionClosed);
            }
            else
            {
                await CloseSessionAsync(client, session);
                timing.Set(SshTiming.Mark.SessionClosed);
            }

            if (run.Timing)
            {
                Console.Error.WriteLine(timing.Format(clock.Elapsed));
            }
        }
    }

    /// <summary>The picker, on a terminal (checked by the caller): every page of machines, destroyed ones left out.</summary>
    private static async Task<string> PickMachineAsync(DedalusClient client, CancellationToken cancellationToken)
    {
        var machines = new List<Machine>();
        await foreach (var machine in client.Machines.ListAsync(cancellationToken: cancellationToken))
        {
            machines.Add(machine);
        }

        var pickable = SshMachinePicker.Pickable(machines);
        if (pickable.Count == 0)
        {
            throw new CliException("no machine to connect to: create one with `dedalus machines create`");
        }

        return SshMachinePicker.Pick(pickable) ?? throw new CliException("cancelled", ExitCodes.SigInt);
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

    /// <summary>
    /// Runs ssh with the terminal's stdio. With <c>--timing</c>, ssh also gets <c>-v</c> and its stderr comes through us:
    /// the debug lines mark ssh's phases (and are shown only when the user asked for <c>-v</c>), everything else is
    /// copied to our stderr as it arrives; stdout comes through us too, to see the first byte.
    /// </summary>
    private static async Task<int> RunSshAsync(string ssh, IReadOnlyList<string> arguments, SshRun run, SshTiming timing, SignalScope signals)
    {
        var startInfo = new ProcessStartInfo(ssh) { UseShellExecute = false, RedirectStandardOutput = run.Timing, RedirectStandardError = run.Timing };
        if (run.Timing)
        {
            startInfo.ArgumentList.Add("-v");
        }

        foreach (var argument in arguments)
        {
            startInfo.ArgumentList.Add(argument);
        }

        var userVerbose = run.ExtraOptions.Contains("-v");
        signals.Token.ThrowIfCancellationRequested();
        using var process = Process.Start(startInfo) ?? throw new CliException("could not start ssh");
        timing.Set(SshTiming.Mark.SshStarted);
        signals.SetChild(process.Id);
        var pumps = Task.CompletedTask;
        if (run.Timing)
        {
            var stdoutPump = Task.Run(async () =>
            {
                var stdout = Console.OpenStandardOutput();
                var buffer = new byte[16 * 1024];
                int read;
                while ((read = await process.StandardOutput.BaseStream.ReadAsync(buffer)) > 0)
                {
                    timing.Set(SshTiming.Mark.FirstByte);
                    await stdout.WriteAsync(buffer.AsMemory(0, read));
                    await stdout.FlushAsync();
                }
            });
            var stderrPump = Task.Run(async () =>
            {
                while (await process.StandardError.ReadLineAsync() is { } line)
                {
                    if (!timing.ObserveSshLine(line) || userVerbose)
                    {
                        await Console.Error.WriteLineAsync(line);
                    }
                }
            });
            pumps = Task.WhenAll(stdoutPump, stderrPump);
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

        try
        {
            await pumps.WaitAsync(TimeSpan.FromSeconds(5), CancellationToken.None).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
            // A program ssh started in the background may hold the pipes open; its output is not ours to wait for.
        }

        return process.ExitCode;
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

    private sealed record SshRun(string? MachineId, List<string> ExtraOptions, string[] RemoteCommand, bool Timing, bool KeepSession, TimeSpan WaitTimeout);
}
