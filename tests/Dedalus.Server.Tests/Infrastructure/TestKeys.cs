namespace Dedalus.Server.Tests.Infrastructure;

/// <summary>Client public keys made by ssh-keygen once, for requests that need a valid key line.</summary>
public static class TestKeys
{
    public const string Ed25519 = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIG8ZQqPw9A4TFdVbpgJMyZUh8SzikCLb8SeCni+2eEK2 test@example";
}
