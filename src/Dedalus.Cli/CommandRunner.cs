using Dedalus.Client;

namespace Dedalus.Cli;

/// <summary>
/// Runs a command body and turns every failure into one line on stderr (<c>dedalus: what happened: what to do</c>)
/// and the documented exit code.
/// </summary>
internal static class CommandRunner
{
    public static async Task<int> RunAsync(Func<Task<int>> body)
    {
        try
        {
            return await body();
        }
        catch (CliException e)
        {
            return Fail(e.Message, e.ExitCode);
        }
        catch (DedalusAuthenticationException e)
        {
            return Fail($"{Describe(e)}: check DEDALUS_API_KEY or --api-key (and DEDALUS_ORG_ID)", ExitCodes.Auth);
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
    }

    public static int Fail(string message, int exitCode)
    {
        Console.Error.WriteLine("dedalus: " + OneLine(message));
        return exitCode;
    }

    private static string Describe(DedalusApiException e)
    {
        var code = e.ErrorCode is { Length: > 0 } c ? " " + c : string.Empty;
        var message = e.Message.TrimEnd('.');
        return $"{message} (HTTP {(int)e.StatusCode}{code})";
    }

    private static string OneLine(string message) => message.ReplaceLineEndings(" ").Trim();
}
