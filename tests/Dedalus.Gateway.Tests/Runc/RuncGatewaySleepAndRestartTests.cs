using Dedalus.Machines.Ssh;
using Dedalus.Machines.Runc;
using Dedalus.Machines.Runtime;

namespace Dedalus.Gateway.Tests.Runc;

/// <summary>Sleep, wake on connect, persistence of /home/machine and a restart of runtime and gateway, with real runc machines.</summary>
public sealed class RuncGatewaySleepAndRestartTests(RuncGatewayFixture fixture) : IClassFixture<RuncGatewayFixture>
{
    [Fact]
    public async Task A_sleeping_machine_with_a_live_session_wakes_on_connect_and_the_login_works()
    {
        var (id, port) = await fixture.AddMachineAsync(start: false);
        var identity = fixture.Site.IssueUser(id);
        Assert.Equal(MachineRuntimeState.Sleeping, await fixture.Site.Runtime.GetStateAsync(id).WaitAsync(RuncGatewayFixture.Timeout));

        var result = await fixture.SshAsync(identity, port, "id -un; hostname");

        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Equal(["machine", id], result.StandardOutput.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.Equal([id], fixture.Backend.Wakes.Where(w => w == id));
        Assert.Equal(MachineRuntimeState.Running, await fixture.Site.Runtime.GetStateAsync(id).WaitAsync(RuncGatewayFixture.Timeout));
        var record = await fixture.Backend.WaitForRecordAsync(r => r.SessionId == identity.SessionId);
        Assert.Equal(id, record.MachineId);
    }

    [Fact]
    public async Task A_sleeping_machine_without_a_live_session_is_refused_and_stays_asleep()
    {
        var (id, port) = await fixture.AddMachineAsync(start: false);
        fixture.Backend.Set(id, GatewayAdmission.SleepingWithoutLiveSession);
        var identity = fixture.Site.IssueUser(id);

        var result = await fixture.SshAsync(identity, port, "true");

        Assert.Equal(255, result.ExitCode);
        var record = await fixture.Backend.WaitForRecordAsync(r => r.MachineId == id);
        Assert.Equal(GatewayConnectionEnd.RefusedSleeping, record.End);
        Assert.Null(record.SessionId);
        Assert.DoesNotContain(id, fixture.Backend.Wakes);
        Assert.Equal(MachineRuntimeState.Sleeping, await fixture.Site.Runtime.GetStateAsync(id).WaitAsync(RuncGatewayFixture.Timeout));
    }

    [Fact]
    public async Task A_file_in_the_root_file_system_is_gone_after_sleep_and_wake_while_a_file_in_home_stays()
    {
        var (id, port) = await fixture.AddMachineAsync();
        var identity = fixture.Site.IssueUser(id);
        var written = await fixture.SshAsync(identity, port, "echo kept > ~/kept.txt && sudo -n sh -c 'echo ephemeral > /ephemeral.txt' && cat /ephemeral.txt");
        Assert.True(written.ExitCode == 0, written.ToString());
        Assert.Equal("ephemeral", written.StandardOutput.Trim());

        await fixture.SleepAsync(id, liveSession: true);
        Assert.Equal(MachineRuntimeState.Sleeping, await fixture.Site.Runtime.GetStateAsync(id).WaitAsync(RuncGatewayFixture.Timeout));
        var after = await fixture.SshAsync(identity, port, "cat ~/kept.txt; test -e /ephemeral.txt && echo root-file-survived || echo root-file-gone");

        Assert.True(after.ExitCode == 0, after.ToString());
        Assert.Equal(["kept", "root-file-gone"], after.StandardOutput.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.Contains(id, fixture.Backend.Wakes);
    }

    [Fact]
    public async Task A_file_in_home_survives_sleep_and_wake_through_a_new_runtime_and_a_new_gateway_on_the_same_port()
    {
        var (id, port) = await fixture.AddMachineAsync();
        var identity = fixture.Site.IssueUser(id);
        var content = Guid.NewGuid().ToString("N");
        var written = await fixture.SshAsync(identity, port, $"echo {content} > ~/survivor.txt && sync");
        Assert.True(written.ExitCode == 0, written.ToString());

        // The first gateway lets go of the machine (as a stopping server would); the machine sleeps.
        await fixture.Gateway.CloseAsync(id).WaitAsync(RuncGatewayFixture.Timeout);
        await fixture.Site.Runtime.StopAsync(id).WaitAsync(RuncGatewayFixture.Timeout);

        // A restarted server: a new runtime on the same data directory and a new gateway on the same port.
        var runtime = new RuncMachineRuntime(fixture.Site.Options);
        var backend = RecordingBackend.WakingThrough(runtime);
        backend.Set(id, GatewayAdmission.SleepingWithLiveSession);
        var gateway = new SshGateway(RuncGatewayFixture.GatewayOptions, new InetdSshServerConnector(runtime), backend);
        try
        {
            Assert.Contains(id, await runtime.ListAsync().WaitAsync(RuncGatewayFixture.Timeout));
            Assert.Equal(MachineRuntimeState.Sleeping, await runtime.GetStateAsync(id).WaitAsync(RuncGatewayFixture.Timeout));
            Assert.Equal(port, (await gateway.OpenAsync(id, port).WaitAsync(RuncGatewayFixture.Timeout)).Port);

            var read = await fixture.SshAsync(identity, port, "cat ~/survivor.txt; hostname");

            Assert.True(read.ExitCode == 0, read.ToString());
            Assert.Equal([content, id], read.StandardOutput.Split('\n', StringSplitOptions.RemoveEmptyEntries));
            Assert.Equal([id], backend.Wakes);
            Assert.Equal(MachineRuntimeState.Running, await runtime.GetStateAsync(id).WaitAsync(RuncGatewayFixture.Timeout));
            var record = await backend.WaitForRecordAsync(r => r.SessionId == identity.SessionId);
            Assert.StartsWith("127.0.0.1:", record.PeerAddress, StringComparison.Ordinal);
            Assert.Contains(record.End, new[] { GatewayConnectionEnd.MachineClosed, GatewayConnectionEnd.ClientClosed });
        }
        finally
        {
            await gateway.DisposeAsync().AsTask().WaitAsync(RuncGatewayFixture.Timeout);
        }

        Assert.Null(gateway.GetEndPoint(id));
    }

    [Fact]
    public async Task Ssh_to_a_machine_that_is_put_to_sleep_while_connected_ends_and_the_next_login_wakes_it()
    {
        var (id, port) = await fixture.AddMachineAsync();
        var identity = fixture.Site.IssueUser(id);
        var ssh = fixture.StartClient("ssh", fixture.Site.SshArguments(identity, port, "echo started; exec sleep 300"));
        using (var started = new CancellationTokenSource(RuncGatewayFixture.Timeout))
        {
            Assert.Equal("started", await ssh.StandardOutput.ReadLineAsync(started.Token));
        }

        await fixture.SleepAsync(id, liveSession: true);
        var exitCode = await ssh.WaitForExitAsync(RuncGatewayFixture.Timeout);

        Assert.Equal(255, exitCode);
        var record = await fixture.Backend.WaitForRecordAsync(r => r.SessionId == identity.SessionId);
        Assert.Equal(GatewayConnectionEnd.GatewayClosed, record.End);
        var again = await fixture.SshAsync(identity, port, "uptime -p >/dev/null && echo awake");
        Assert.True(again.ExitCode == 0, again.ToString());
        Assert.Equal("awake", again.StandardOutput.Trim());
    }
}
