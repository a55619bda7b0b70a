using Dedalus.Cli.Processes;
using Dedalus.Client;
using Dedalus.Contracts;

namespace Dedalus.Cli;

/// <summary>
/// Runs every command's body: owns the process's signals (SIGINT, SIGTERM, SIGHUP cancel the body's token; a command
/// interrupted by one exits 128 + its number with <c>dedalus: cancelled</c>), and turns every failure into one line on
/// stderr (<c>dedalus: what happened: what to do</c>) and the documented exit code.
/// </summary>
/// <remarks>
/// This is the CLI's one cancellation model: System.CommandLine's own token is never cancelled
/// (<see cref="DedalusCli"/> turns its signal handling off), so command actions ignore it and take the token given here.
/// </remarks>
internal static class CommandRunner
{
    /// <summary>The request fields the commands send, and the flags that set them.</summary>
    private static readonly Dictionary<string, string> FieldFlags = new(StringComparer.Ordinal)
    {
        ["vcpu"] = "--vcpu",
        ["memory_mib"] = "--memory-mib",
        ["storage_gib"] = "--storage-gib",
        ["autosleep"] = "--autosleep",
        ["public_key"] = "--public-key",
        ["limit"] = "--limit",
        ["cwd"] = "--cwd",
        ["env"] = "--env",
        ["stdin"] = "--stdin",
    };

    /// <summary>Runs <paramref name="body"/> with a token that a signal cancels.</summary>
    public static Task<int> RunAsync(Func<CancellationToken, Task<int>> body) => RunWithSignalsAsync(signals => body(signals.Token));

    /// <summary>
    /// Runs <paramref name="body"/> with the process's <see cref="SignalScope"/>, for a command that also forwards signals
    /// to a child process (<c>dedalus ssh</c>). Whatever the body does on its way out (<c>finally</c>) runs before the
    /// exit code is chosen.
    /// </summary>
    public static async Task<int> RunWithSignalsAsync(Func<SignalScope, Task<int>> body)
    {
        using var signals = new SignalScope();
        try
        {
            var exitCode = await body(signals);
            return signals.SignalNumber != 0 ? Cancelled(signals) : exitCode;
        }
#pragma warning disable CA1031 // After a signal, whatever the body failed with is the interruption's doing.
        catch (Exception) when (signals.SignalNumber != 0)
#pragma warning restore CA1031
        {
            return Cancelled(signals);
        }
        catch (CliException e)
        {
            return Fail(e.Message, e.ExitCode);
        }
        catch (DedalusAuthenticationException e)
        {
            return Fail($"{Describe(e)}: check DEDALUS_API_KEY or --api-key (and DEDALUS_ORG_ID)", ExitCodes.Auth);
        }
        catch (DedalusNotFoundException e) when (IsWrongAddress(e))
        {
            return Fail($"{Describe(e)}: is this a Dedalus server? check DEDALUS_BASE_URL or --base-url (the server's root URL, without /v1)", ExitCodes.NotFound);
        }
        catch (DedalusNotFoundException e) when (e.Resource == NotFoundResources.SshSession)
        {
            return Fail($"{Describe(e)}: check the session id with `dedalus machines ssh list --machine-id <id>`", ExitCodes.NotFound);
        }
        catch (DedalusNotFoundException e) when (e.Resource == NotFoundResources.Execution)
        {
            return Fail($"{Describe(e)}: check the execution id with `dedalus machines executions list --machine-id <id>`", ExitCodes.NotFound);
        }
        catch (DedalusNotFoundException e)
        {
            return Fail($"{Describe(e)}: check the id with `dedalus machines list`", ExitCodes.NotFound);
        }
        catch (DedalusRateLimitException e)
        {
            return Fail($"{Describe(e)}: rate limited, retry in a moment", ExitCodes.RateLimited);
        }
        catch (DedalusServerException e)
        {
            return Fail($"{Describe(e)}: server error, retry later or check the server's log", ExitCodes.ServerError);
        }
        catch (DedalusApiException e)
        {
            return Fail(Describe(e), (int)e.StatusCode is >= 400 and < 500 ? ExitCodes.OtherClientError : ExitCodes.Error);
        }
        catch (DedalusConnectionException e)
        {
            return Fail(e.Message, ExitCodes.Connection);
        }
        catch (DedalusSshSessionException e) when (e.ErrorCode == ErrorCodes.MachineDestroyed)
        {
            return Fail($"{e.Message.TrimEnd('.')}: create a new one with `dedalus machines create`", ExitCodes.NotFound);
        }
        catch (DedalusSshSessionException e)
        {
            return Fail(e.Message, e.IsTimeout ? ExitCodes.Connection : ExitCodes.Error);
        }
        catch (DedalusException e)
        {
            return Fail(e.Message, ExitCodes.Error);
        }
        catch (OperationCanceledException)
        {
            return Fail("cancelled", ExitCodes.SigInt);
        }
        catch (IOException e)
        {
            return Fail(e.Message, ExitCodes.Error);
        }
        catch (UnauthorizedAccessException e)
        {
            return Fail(e.Message, ExitCodes.Error);
        }
        catch (Exception e) when (e is PlatformNotSupportedException or DllNotFoundException)
        {
            return Fail(
                OperatingSystem.IsLinux()
                    ? "cannot load libsodium (for SSH keys): install it (apt-get install libsodium23) or keep the libsodium.so built with dedalus next to it"
                    : "cannot load libsodium (for SSH keys): keep the libsodium library built with dedalus next to it, or install it",
                ExitCodes.Error);
        }
#pragma warning disable CA1031 // The last resort: one line instead of a stack trace.
        catch (Exception e)
#pragma warning restore CA1031
        {
            return Fail($"unexpected error ({e.GetType().Name}: {e.Message}); please report it", ExitCodes.Error);
        }
    }

    /// <summary>
    /// A 404 that is about the address, not the id: the answer has no DCS error code (another web server), or the
    /// Dedalus server says the path matched no operation (a base URL with an extra path, such as /v1/v1).
    /// </summary>
    private static bool IsWrongAddress(DedalusNotFoundException e) =>
        e.ErrorCode is null || e.Resource == NotFoundResources.Path;

    private static int Cancelled(SignalScope signals) => Fail("cancelled", signals.ExitCode);

    public static int Fail(string message, int exitCode)
    {
        Console.Error.WriteLine("dedalus: " + OneLine(message));
        return exitCode;
    }

    private static string Describe(DedalusApiException e)
    {
        var code = e.ErrorCode is { Length: > 0 } c ? " " + c : string.Empty;
        var message = e.Message.TrimEnd('.');
        if (e.ErrorCode == ErrorCodes.InvalidRequest)
        {
            message = FlagNames(e, message);
        }

        return $"{message} (HTTP {(int)e.StatusCode}{code})";
    }

    /// <summary>
    /// The server names the request field at fault in <c>details.field</c> and starts its message with it
    /// (<c>memory_mib must be ...</c>); the user typed a flag, so the message names the flag instead.
    /// </summary>
    private static string FlagNames(DedalusApiException e, string message)
    {
        if (e.Details.TryGetValue(ErrorDetailKeys.Field, out var field)
            && FieldFlags.TryGetValue(field, out var flag)
            && message.StartsWith(field, StringComparison.Ordinal)
            && (message.Length == field.Length || message[field.Length] is ' ' or ':'))
        {
            return flag + message[field.Length..];
        }

        return message;
    }

    private static string OneLine(string message) => message.ReplaceLineEndings(" ").Trim();
}
