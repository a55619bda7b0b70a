namespace Dedalus.Gateway.Tests;

/// <summary>The backend's admission decides whether sshd is started at all.</summary>
public sealed class AdmissionTests(SshSiteFixture fixture) : IClassFixture<SshSiteFixture>
{
    private const string Machine = "dm-cccccccc-cccc-4ccc-8ccc-cccccccccccc";

    [Theory]
    [InlineData(GatewayAdmission.Unknown, GatewayConnectionEnd.RefusedUnknownMachine)]
    [InlineData(GatewayAdmission.Deleted, GatewayConnectionEnd.RefusedDeleted)]
    [InlineData(GatewayAdmission.SleepingWithoutLiveSession, GatewayConnectionEnd.RefusedSleeping)]
    public async Task A_connection_the_backend_refuses_is_closed_at_once_without_starting_sshd(GatewayAdmission admission, GatewayConnectionEnd expected)
    {
        await using var harness = new GatewayHarness(fixture.Site);
        var port = await harness.AddMachineAsync(Machine, admission);

        using var socket = await GatewayHarness.ConnectAndIdentifyAsync(port);
        var line = await GatewayHarness.ReadLineAsync(socket);
        var identification = await GatewayHarness.ReadLineAsync(socket);
        var packet = await GatewayHarness.ReadToEndAsync(socket);

        Assert.NotNull(line);
        Assert.StartsWith("dedalus-gateway: ", line, StringComparison.Ordinal);
        Assert.Equal("SSH-2.0-dedalus-gateway", identification);
        Assert.True(packet > 0 && packet % 8 == 0, $"a disconnect packet of {packet} bytes");
        Assert.Equal(0, harness.Sshd.ConnectCount);
        Assert.Equal(1, harness.Backend.AdmissionCount);
        Assert.Empty(harness.Backend.Wakes);
        var record = await harness.Backend.WaitForRecordAsync(r => r.MachineId == Machine);
        Assert.Equal(expected, record.End);
        Assert.True(record.End.IsRefusal());
        Assert.Equal(0, record.BytesFromClient);
        Assert.True(await Eventually.TrueAsync(() => harness.Gateway.GetOpenConnectionCount(Machine) == 0 && harness.Gateway.GetPendingConnectionCount(Machine) == 0));
    }

    [Fact]
    public async Task Ssh_to_a_sleeping_machine_without_a_live_session_is_refused()
    {
        await using var harness = new GatewayHarness(fixture.Site);
        var port = await harness.AddMachineAsync(Machine, GatewayAdmission.SleepingWithoutLiveSession);
        var identity = await fixture.Site.IssueAsync("sess-asleep-1", Machine, 301);

        var result = await harness.SshAsync(identity, port, "true");

        Assert.Equal(255, result.ExitCode);
        Assert.Contains($"dedalus-gateway: {Machine} is asleep; create an SSH session to wake it", result.StandardError, StringComparison.Ordinal);
        Assert.Empty(harness.Backend.Wakes);
        Assert.Equal(0, harness.Sshd.ConnectCount);
        var record = await harness.Backend.WaitForRecordAsync(r => r.MachineId == Machine);
        Assert.Equal(GatewayConnectionEnd.RefusedSleeping, record.End);
    }

    [Fact]
    public async Task Ssh_to_a_sleeping_machine_with_a_live_session_wakes_it_and_then_logs_in()
    {
        await using var harness = new GatewayHarness(fixture.Site);
        var port = await harness.AddMachineAsync(Machine, GatewayAdmission.SleepingWithLiveSession);
        harness.Backend.OnWake = (machineId, _) =>
        {
            harness.Sshd.SetRunning(machineId, true);
            return Task.CompletedTask;
        };
        var identity = await fixture.Site.IssueAsync("sess-wake-1", Machine, 302);

        var result = await harness.SshAsync(identity, port, "echo", "awake");

        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Equal("awake", result.StandardOutput.Trim());
        Assert.Equal([Machine], harness.Backend.Wakes);
        var record = await harness.Backend.WaitForRecordAsync(r => r.MachineId == Machine);
        Assert.Equal("sess-wake-1", record.SessionId);
    }

    [Fact]
    public async Task A_failing_wake_ends_the_connection_with_an_error_record()
    {
        await using var harness = new GatewayHarness(fixture.Site);
        var port = await harness.AddMachineAsync(Machine, GatewayAdmission.SleepingWithLiveSession);
        harness.Backend.OnWake = (_, _) => throw new InvalidOperationException("wake failed: no capacity");

        using var socket = await GatewayHarness.ConnectAndIdentifyAsync(port);
        var line = await GatewayHarness.ReadLineAsync(socket);

        Assert.Equal($"dedalus-gateway: {Machine} cannot be reached right now; try again", line);
        var record = await harness.Backend.WaitForRecordAsync(r => r.MachineId == Machine);
        Assert.Equal(GatewayConnectionEnd.Error, record.End);
        Assert.Contains("no capacity", record.Detail, StringComparison.Ordinal);
        Assert.Equal(0, harness.Sshd.ConnectCount);
    }
}
