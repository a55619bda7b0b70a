namespace Dedalus.Gateway.Tests.Infrastructure;

/// <summary>Assertions on what the OpenSSH client reports.</summary>
public static class SshAssert
{
    /// <summary>sshd refused the login: ssh exits 255 and says "Permission denied".</summary>
    public static void LoginRefused(ProcessResult result)
    {
        Assert.Equal(255, result.ExitCode);
        Assert.Contains("Permission denied", result.StandardError, StringComparison.Ordinal);
    }
}
