using Dedalus.Client.Ssh;

namespace Dedalus.Client.Tests;

/// <summary><c>ConnectAsync</c>: SSH.NET with the session certificate and strict host-certificate verification.</summary>
public sealed class ConnectTests(FakeMachinesFixture fixture) : IClassFixture<FakeMachinesFixture>
{
    [Fact]
    public async Task Connect_runs_a_command_on_the_machine()
    {
        using var client = CreateClient();
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(30));

        using var ssh = await client.Machines.Ssh.ConnectAsync(Samples.MachineId, cancellationToken: cts.Token);
        using var command = ssh.RunCommand("echo hi; exit 3");

        Assert.Equal("hi\n", command.Result);
        Assert.Equal(3, command.ExitStatus);
    }

    [Fact]
    public async Task Connect_refuses_a_host_certificate_from_another_ca()
    {
        var other = SshKeyPair.GenerateEd25519();
        fixture.Fake.MutateConnection = c => c with { HostTrust = c.HostTrust! with { PublicKey = other.PublicKey } };
        try
        {
            using var client = CreateClient();
            using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(30));

            var error = await Assert.ThrowsAsync<DedalusSshSessionException>(() => client.Machines.Ssh.ConnectAsync(Samples.MachineId, cancellationToken: cts.Token));

            Assert.Contains("host verification failed", error.Message, StringComparison.Ordinal);
            Assert.Contains("not by the trusted host CA", error.Message, StringComparison.Ordinal);
        }
        finally
        {
            fixture.Fake.MutateConnection = null;
        }
    }

    [Fact]
    public async Task Connect_refuses_an_endpoint_outside_the_host_pattern()
    {
        fixture.Fake.MutateConnection = c => c with { HostTrust = c.HostTrust! with { HostPattern = "*.example.com" } };
        try
        {
            using var client = CreateClient();
            using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(30));

            var error = await Assert.ThrowsAsync<DedalusSshSessionException>(() => client.Machines.Ssh.ConnectAsync(Samples.MachineId, cancellationToken: cts.Token));

            Assert.Contains("does not match the trusted host pattern", error.Message, StringComparison.Ordinal);
        }
        finally
        {
            fixture.Fake.MutateConnection = null;
        }
    }

    [Fact]
    public void A_host_with_a_plain_key_is_refused()
    {
        var verifier = new HostCertificateVerifier(Samples.Connection(), TimeProvider.System);

        Assert.False(verifier.Verify("ssh-ed25519", null));
        Assert.Contains("plain ssh-ed25519 key", verifier.Failure, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("[127.0.0.1]:*", "127.0.0.1", 2222, true)]
    [InlineData("127.0.0.1", "127.0.0.1", 2222, false)]
    [InlineData("127.0.0.1", "127.0.0.1", 22, true)]
    [InlineData("*.ssh.example.com", "m1.ssh.example.com", 22, true)]
    [InlineData("*.ssh.example.com,!bad.ssh.example.com", "bad.ssh.example.com", 22, false)]
    [InlineData("host?", "host1", 22, true)]
    [InlineData("[LOCALHOST]:2201", "localhost", 2201, true)]
    public void Host_patterns_match_as_in_known_hosts(string pattern, string host, int port, bool expected) =>
        Assert.Equal(expected, KnownHostsPattern.Matches(pattern, host, port));

    private DedalusClient CreateClient() => new(new DedalusClientOptions { BaseUrl = fixture.Fake.Api.BaseUrl, ApiKey = FakeMachinesApi.GoodKey });
}
