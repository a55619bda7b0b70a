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
    public const int SigHup = 129;
    public const int SigInt = 130;
    public const int SigTerm = 143;
}
