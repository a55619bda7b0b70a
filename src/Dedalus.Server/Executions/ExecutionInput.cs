using System.Text;
using Dedalus.Contracts;
using Dedalus.Server.Errors;

namespace Dedalus.Server.Executions;

/// <summary>
/// A create request, validated: everything the command needs, including what is never stored (stdin and the values of
/// env, held in memory until the command has them). Every bad field is a 400 naming it, before anything runs.
/// </summary>
public sealed record ExecutionInput(IReadOnlyList<string> Command, string? Cwd, IReadOnlyDictionary<string, string> Env, byte[] Stdin, long TimeoutMs)
{
    public const int MaxArguments = 4096;
    public const int MaxCommandBytes = 256 * 1024;
    public const int MaxEnv = 256;
    public const int MaxEnvBytes = 256 * 1024;
    public const int MaxStdinBytes = 1024 * 1024;
    public const int MaxCwdBytes = 4096;
    public const long MaxTimeoutMs = 24L * 60 * 60 * 1000;

    /// <summary>A request body may carry stdin up to its bound, escaped as JSON (up to 6 bytes per byte), and the rest.</summary>
    public const int MaxRequestBytes = (6 * MaxStdinBytes) + (2 * MaxCommandBytes) + (2 * MaxEnvBytes) + (64 * 1024);

    public static ExecutionInput From(CreateExecutionRequest request)
    {
        if (request.Command is not { Count: > 0 } command)
        {
            throw DomainException.InvalidRequest("command must be a non-empty array of strings: the program, then its arguments (no shell)", "command");
        }

        if (command.Count > MaxArguments)
        {
            throw DomainException.InvalidRequest($"command has {command.Count} arguments; at most {MaxArguments}", "command");
        }

        var bytes = 0L;
        for (var i = 0; i < command.Count; i++)
        {
            if (command[i] is not { } argument)
            {
                throw DomainException.InvalidRequest($"command[{i}] is null; every argument must be a string", "command");
            }

            if (argument.Contains('\0', StringComparison.Ordinal))
            {
                throw DomainException.InvalidRequest($"command[{i}] contains a NUL character, which no argument can carry", "command");
            }

            bytes += Encoding.UTF8.GetByteCount(argument) + 1;
        }

        if (command[0]!.Length == 0)
        {
            throw DomainException.InvalidRequest("command[0] (the program) is empty", "command");
        }

        if (bytes > MaxCommandBytes)
        {
            throw DomainException.InvalidRequest($"command is {bytes} bytes long; at most {MaxCommandBytes}", "command");
        }

        return new ExecutionInput([.. command.Select(a => a!)], ReadCwd(request.Cwd), ReadEnv(request.Env), ReadStdin(request.Stdin), ReadTimeout(request.TimeoutMs));
    }

    private static string? ReadCwd(string? cwd)
    {
        if (cwd is null)
        {
            return null;
        }

        if (cwd.Length == 0 || cwd[0] != '/')
        {
            throw DomainException.InvalidRequest($"cwd must be an absolute path (starting with /), not '{Shorten(cwd)}'", "cwd");
        }

        if (cwd.Contains('\0', StringComparison.Ordinal) || Encoding.UTF8.GetByteCount(cwd) > MaxCwdBytes)
        {
            throw DomainException.InvalidRequest($"cwd must be a path without NUL characters, at most {MaxCwdBytes} bytes", "cwd");
        }

        return cwd;
    }

    private static Dictionary<string, string> ReadEnv(IReadOnlyDictionary<string, string?>? env)
    {
        var result = new Dictionary<string, string>(StringComparer.Ordinal);
        if (env is null)
        {
            return result;
        }

        if (env.Count > MaxEnv)
        {
            throw DomainException.InvalidRequest($"env has {env.Count} variables; at most {MaxEnv}", "env");
        }

        var bytes = 0L;
        foreach (var (name, value) in env)
        {
            if (!IsName(name))
            {
                throw DomainException.InvalidRequest(
                    $"env name '{Shorten(name)}' is not a variable name: use letters, digits and _, not starting with a digit (no '=', no NUL)", "env");
            }

            if (value is null)
            {
                throw DomainException.InvalidRequest($"env {name} is null; every value must be a string", "env");
            }

            if (value.Contains('\0', StringComparison.Ordinal))
            {
                // The value itself is never echoed.
                throw DomainException.InvalidRequest($"env {name} contains a NUL character, which no variable can carry", "env");
            }

            bytes += name.Length + Encoding.UTF8.GetByteCount(value) + 2;
            result[name] = value;
        }

        return bytes <= MaxEnvBytes ? result : throw DomainException.InvalidRequest($"env is {bytes} bytes long; at most {MaxEnvBytes}", "env");
    }

    private static byte[] ReadStdin(string? stdin)
    {
        if (stdin is null)
        {
            return [];
        }

        var count = Encoding.UTF8.GetByteCount(stdin);
        return count <= MaxStdinBytes
            ? Encoding.UTF8.GetBytes(stdin)
            : throw DomainException.InvalidRequest($"stdin is {count} bytes; at most {MaxStdinBytes} (1 MiB): pass larger input through a file in the machine", "stdin");
    }

    private static long ReadTimeout(long? timeoutMs) => timeoutMs switch
    {
        null => MaxTimeoutMs,
        < 1 or > MaxTimeoutMs => throw DomainException.InvalidRequest($"timeout_ms must be from 1 to {MaxTimeoutMs} (24 h), not {timeoutMs}", "timeout_ms"),
        { } ms => ms,
    };

    private static bool IsName(string name) =>
        name.Length is > 0 and <= 256 && !char.IsAsciiDigit(name[0]) && name.All(c => char.IsAsciiLetterOrDigit(c) || c == '_');

    private static string Shorten(string text) => text.Length <= 64 ? text.Replace("\0", "\\0", StringComparison.Ordinal) : text[..64].Replace("\0", "\\0", StringComparison.Ordinal) + "...";
}
