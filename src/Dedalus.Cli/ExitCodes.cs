namespace Dedalus.Cli;

/// <summary>Process exit codes, as the official Dedalus CLI documents them.</summary>
internal static class ExitCodes
{
    public const int Ok = 0;
    public const int Error = 1;
    public const int Usage = 2;
    public const int Auth = 10;
    public const int NotFound = 11;
    public const int RateLimited = 12;
    public const int OtherClientError = 13;
    public const int ServerError = 14;
    public const int Connection = 15;

    /// <summary>
    /// <c>dedalus machines exec</c>: the command ended without an exit code of its own (timeout, start_failed,
    /// machine_stopped, machine_destroyed, machine_failed, server_restarted, or cancelled by another client); the server's
    /// reason is the one line on stderr. 125 as env(1) and timeout(1) use it for their own failures: below the shell's
    /// 126 (cannot execute), 127 (not found) and the 128 + N of a signal, which a command's own exit code passes as is.
    /// </summary>
    public const int ExecutionFailed = 125;

    public const int SigHup = 129;
    public const int SigInt = 130;

    /// <summary><c>dedalus machines exec</c> whose output reader went away (<c>| head -1</c>): as a command killed by SIGPIPE.</summary>
    public const int SigPipe = 141;

    public const int SigTerm = 143;
}
