using System.CommandLine;
using System.CommandLine.Parsing;
using System.Text;
using Dedalus.Client;
using Dedalus.Cli.Processes;
using Dedalus.Contracts;
using Microsoft.Win32.SafeHandles;

namespace Dedalus.Cli.Commands;

/// <summary>
/// <c>dedalus machines exec [&lt;machine_id&gt;|--machine-id ID] [options] -- CMD [ARGS...]</c>: runs an argv in a machine
/// through the executions API (no ssh), streams its stdout and stderr live to dedalus's own, and exits with its exit code.
/// A signal cancels the execution on the server before dedalus exits 128 + its number.
/// </summary>
internal static class ExecCommand
{
    public static Command Create(GlobalOptions global)
    {
        var machineIdOption = MachinesCommands.MachineIdOption(required: false);
        machineIdOption.Description = "Machine id, instead of the first argument";
        var machineIdArgument = new Argument<string?>("machine_id")
        {
            Description = "Machine id (the uuid, or dm-<uuid>) or name (or --machine-id)",
            Arity = ArgumentArity.ZeroOrOne,
        };
        var commandArgument = new Argument<string[]>("command")
        {
            Description = "The program and its arguments, after --: an argument vector, each word passed as it is (no shell)",
            Arity = ArgumentArity.ZeroOrMore,
        };
        var cwd = new Option<string?>("--cwd") { Description = "Working directory, an absolute path (default: /home/machine)", HelpName = "dir" };
        var env = new Option<string[]>("--env")
        {
            Description = "Set a variable for the command (repeatable); NAME alone passes dedalus's own value. The environment is otherwise clean",
            HelpName = "NAME[=VALUE]",
        };
        var timeout = new Option<string?>("--timeout")
        {
            Description = "Time limit: 30s, 5m, 1h30m, 500ms or seconds, 1ms to 24h (default: the server's, 24h); then the command's processes are killed and dedalus exits 125",
            HelpName = "duration",
        };
        var stdin = new Option<bool>("--stdin") { Description = "Send dedalus's own stdin to the command (read to its end first; UTF-8 text, at most 1 MiB)" };
        var stdinFile = new Option<string?>("--stdin-file") { Description = "Send this file as the command's stdin (UTF-8 text, at most 1 MiB)", HelpName = "file" };
        var command = new Command("exec", "Run a command in a machine through the API (no ssh): output streamed live, its exit code passed through")
        {
            machineIdArgument, commandArgument, machineIdOption, cwd, env, timeout, stdin, stdinFile,
        }.WithHelp("""
            Examples:
              dedalus machines exec <machine_id> -- uname -a
              dedalus machines exec --machine-id <machine_id> -- sh -c 'echo "$HOME"; ls -la | wc -l'
              dedalus machines exec <machine_id> --cwd /home/machine/src --env CI=1 --env API_TOKEN --timeout 10m -- make test
              git diff | dedalus machines exec <machine_id> --stdin --cwd /home/machine/src -- git apply
              dedalus machines exec <machine_id> --stdin-file job.sh -- sh

            The command is an argument vector, not a shell line: each word reaches the program as it is (spaces, quotes
            and newlines intact); write `-- sh -c '...'` for pipes, globs and variables. It runs as the user machine with
            a clean environment plus --env (values are never shown back). A sleeping machine wakes first (a progress line
            on a terminal). Its stdout and stderr go to dedalus's as they are written.

            Exit code: the command's own (127 when there is no such program), or 128+N when signal N ended it. When it
            ends without one, dedalus prints `dedalus: <reason>` and exits 125: --timeout passed (its processes got
            SIGTERM, then SIGKILL), it could not start (a missing --cwd), its machine stopped, failed or was destroyed,
            or another client cancelled it. Ctrl-C or SIGTERM cancels the execution on the server, then dedalus exits
            130 or 143; so does a reader of its output that goes away (`| head -1`), with 141 as for SIGPIPE. Other
            codes are dedalus's own errors (1, 2 and 10-15, see `dedalus --help`). Past runs: `dedalus machines executions`.
            """);
        command.SetAction((parseResult, _) => CommandRunner.RunWithSignalsAsync(async signals =>
        {
            var (words, doubleDashAt) = Words(parseResult, machineIdArgument, commandArgument);
            var (machineId, argv) = ExecArguments.Split(parseResult.GetValue(machineIdOption), words, doubleDashAt);
            var request = new CreateExecutionRequest(
                argv,
                parseResult.GetValue(cwd),
                ExecArguments.ParseEnv(parseResult.GetValue(env), Environment.GetEnvironmentVariable),
                await ReadStdinAsync(parseResult.GetValue(stdin), parseResult.GetValue(stdinFile), signals.Token),
                parseResult.GetValue(timeout) is { } text ? ExecArguments.ParseTimeoutMs(text) : null);
            return await RunAsync(global, parseResult, machineId, request, signals);
        }));
        return command;
    }

    private static async Task<int> RunAsync(GlobalOptions global, ParseResult parseResult, string machineId, CreateExecutionRequest request, SignalScope signals)
    {
        using var client = global.CreateClient(parseResult);
        using var waking = new WakeProgress(machineId);
        using var stdout = OpenOutput(1, Console.OpenStandardOutput);
        using var stderr = OpenOutput(2, Console.OpenStandardError);

        async ValueTask OnEvent(ExecutionEvent item, CancellationToken ct)
        {
            if (item.Type != ExecutionEventTypes.Lifecycle || item.Status != ExecutionStatuses.WakeInProgress)
            {
                waking.Dispose();
            }

            var target = item.Type switch
            {
                ExecutionEventTypes.Stdout => stdout,
                ExecutionEventTypes.Stderr => stderr,
                _ => null,
            };
            if (target is not null && item.Chunk is { Length: > 0 } chunk)
            {
                try
                {
                    await target.WriteAsync(Encoding.UTF8.GetBytes(chunk), ct);
                }
                catch (IOException e)
                {
                    throw new OutputClosedException(e);
                }
            }
        }

        ExecutionResult result;
        try
        {
            result = await client.Machines.Executions.RunAsync(machineId, request, OnEvent, waking, signals.Token);
        }
        catch (OutputClosedException)
        {
            // Nobody reads the output any more: the SDK has cancelled the execution; exit as a local command killed by
            // SIGPIPE would, without a word (a shell prints none either).
            return ExitCodes.SigPipe;
        }

        waking.Dispose();
        ReportTruncation("stdout", result.Execution.StdoutTruncated, result.Execution.StdoutBytes);
        ReportTruncation("stderr", result.Execution.StderrTruncated, result.Execution.StderrBytes);
        var (exitCode, message) = ExecutionExit.Of(result.Execution);
        return message is null ? exitCode : CommandRunner.Fail(message, exitCode);
    }

    /// <summary>
    /// The words no option took, in command-line order, and how many of them came before <c>--</c> (<see langword="null"/>
    /// without one). The two arguments exist for the help's sake; which word is the machine id is
    /// <see cref="ExecArguments.Split"/>'s decision (System.CommandLine gives the first word after <c>--</c> to
    /// <c>machine_id</c> when <c>--machine-id</c> is used).
    /// </summary>
    private static (List<string> Words, int? DoubleDashAt) Words(ParseResult parseResult, Argument<string?> machineId, Argument<string[]> command)
    {
        var tokens = parseResult.Tokens;
        var mine = new HashSet<Token>(ReferenceEqualityComparer.Instance);
        foreach (var argument in new Argument[] { machineId, command })
        {
            foreach (var token in parseResult.GetResult(argument)?.Tokens ?? [])
            {
                mine.Add(token);
            }
        }

        var words = new List<string>();
        int? doubleDashAt = null;
        foreach (var token in tokens)
        {
            if (token.Type == TokenType.DoubleDash && doubleDashAt is null)
            {
                doubleDashAt = words.Count;
            }
            else if (mine.Contains(token))
            {
                words.Add(token.Value);
            }
        }

        return (words, doubleDashAt);
    }

    /// <summary>The stdin text to send: dedalus's own stdin or a file, read to its end (at most 1 MiB), or none.</summary>
    private static async Task<string?> ReadStdinAsync(bool fromStdin, string? file, CancellationToken cancellationToken)
    {
        if (fromStdin && file is not null)
        {
            throw new CliException("--stdin and --stdin-file both give the command's stdin: pass one", ExitCodes.Usage);
        }

        Stream stream;
        string source;
        if (fromStdin)
        {
            stream = Console.OpenStandardInput();
            source = "stdin";
        }
        else if (file is not null)
        {
            try
            {
                stream = new FileStream(file, FileMode.Open, FileAccess.Read, FileShare.Read, 1, FileOptions.Asynchronous);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                var why = File.Exists(file) || Directory.Exists(file) ? e.Message : "no such file";
                throw new CliException($"cannot read --stdin-file '{file}' ({why})", ExitCodes.Usage);
            }

            source = $"--stdin-file '{file}'";
        }
        else
        {
            return null;
        }

        await using (stream)
        {
            // One byte more than the bound tells "exactly 1 MiB" from "more". A read of a terminal or a pipe cannot be
            // cancelled: a signal ends the wait for it instead (the process exits meanwhile).
            var buffer = new byte[ExecArguments.MaxStdinBytes + 1];
            var length = 0;
            int read;
            try
            {
                while (length < buffer.Length && (read = await stream.ReadAsync(buffer.AsMemory(length), cancellationToken).AsTask().WaitAsync(cancellationToken)) > 0)
                {
                    length += read;
                }
            }
            catch (IOException e)
            {
                throw new CliException($"cannot read {source} ({e.Message})", ExitCodes.Usage);
            }

            return ExecArguments.DecodeStdin(buffer, length, source);
        }
    }

    /// <summary>The server kept (and so streamed) only the first part of a stream: say so, once, after the output.</summary>
    private static void ReportTruncation(string stream, bool? truncated, long? bytes)
    {
        if (truncated == true)
        {
            Console.Error.WriteLine(
                $"dedalus: the server kept only the first part of the command's {stream}" +
                (bytes is { } n ? $" ({n} bytes were written)" : string.Empty) +
                "; write large output to a file in the machine and copy it (scp, rsync)");
        }
    }

    /// <summary>
    /// Where the command's output goes. A pipe or a terminal is written through its descriptor, not Console's stream,
    /// which drops EPIPE silently: a reader that went away (<c>| head -1</c>) must end the command as it would end a local
    /// one. A file keeps Console's stream, which appends where the descriptor stands (a FileStream would write at a
    /// position of its own, and stdout and stderr sent to one file would overwrite each other). Descriptors not owned:
    /// nothing closes 1 or 2.
    /// </summary>
    private static Stream OpenOutput(int descriptor, Func<Stream> console)
    {
        var direct = new FileStream(new SafeFileHandle(descriptor, ownsHandle: false), FileAccess.Write, bufferSize: 0);
        if (!direct.CanSeek)
        {
            return direct;
        }

        direct.Dispose();
        return console();
    }

    /// <summary>Writing the command's output failed (the reader closed the pipe).</summary>
    private sealed class OutputClosedException(IOException inner) : IOException(inner.Message, inner);

    /// <summary>The progress line while the machine wakes: shown from a <c>wake_in_progress</c> execution until anything else.</summary>
    private sealed class WakeProgress(string machineId) : IProgress<Execution>, IDisposable
    {
        private readonly Lock _lock = new();
        private ProgressLine? _line;
        private bool _over;

        public void Report(Execution value)
        {
            lock (_lock)
            {
                if (!_over && value.Status == ExecutionStatuses.WakeInProgress)
                {
                    _line ??= ProgressLine.Start(machineId, "waking");
                    return;
                }
            }

            Dispose();
        }

        public void Dispose()
        {
            lock (_lock)
            {
                _over = true;
                _line?.Dispose();
            }
        }
    }
}
