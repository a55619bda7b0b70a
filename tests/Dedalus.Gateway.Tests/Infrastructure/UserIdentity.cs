namespace Dedalus.Gateway.Tests.Infrastructure;

/// <summary>A user key pair with its certificate files.</summary>
public sealed record UserIdentity(string PrivateKey, string Certificate, string SessionId, ulong Serial);
