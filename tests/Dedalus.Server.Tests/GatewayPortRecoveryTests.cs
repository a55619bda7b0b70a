using Dedalus.Server.Gateway;
using Dedalus.Server.Hosting;
using Dedalus.Server.Reconciliation;
using Microsoft.Extensions.Time.Testing;

namespace Dedalus.Server.Tests;

/// <summary>The retry and move decisions for a gateway port another process holds, on a fake clock.</summary>
public sealed class GatewayPortRecoveryTests : IDisposable
{
    private const string Machine = "dm-00000000-0000-7000-8000-000000000001";
    private static readonly TimeSpan Delay = TimeSpan.FromSeconds(3);
    private readonly FakeTimeProvider _clock = new(DateTimeOffset.UnixEpoch);
    private readonly MachineWorkQueue _queue = new();
    private readonly GatewayPortRecovery _recovery;

    public GatewayPortRecoveryTests() =>
        _recovery = new GatewayPortRecovery(new ServerOptions { DataDirectory = "/nonexistent", GatewayPortRetryDelay = Delay, GatewayPortAttempts = 3 }, _queue, _clock);

    public void Dispose() => _recovery.Dispose();

    private bool Kicked()
    {
        var kicked = false;
        while (_queue.Kicks.TryRead(out var machineId))
        {
            Assert.Equal(Machine, machineId);
            kicked = true;
        }

        return kicked;
    }

    [Fact]
    public void The_back_off_doubles_from_the_retry_delay_up_to_ten_times_it()
    {
        Assert.Equal(
            [Delay, Delay * 2, Delay * 4, Delay * 8, Delay * 10, Delay * 10, Delay * 10],
            Enumerable.Range(1, 7).Select(_recovery.RetryDelay));
    }

    [Fact]
    public void A_held_port_is_tried_again_when_its_back_off_has_passed_and_the_machine_moves_at_the_third_counted_failure()
    {
        Assert.Equal(new GatewayPortDecision(1, false, Delay), _recovery.Failed(Machine, PortOpenResult.InUse, clientsMayKnowPort: true));

        // A pass that comes sooner (an API write kicked it) may try the port, but its failure does not count.
        _clock.Advance(Delay - TimeSpan.FromMilliseconds(1));
        Assert.Null(_recovery.Failed(Machine, PortOpenResult.InUse, clientsMayKnowPort: true));
        Assert.False(Kicked());

        _clock.Advance(TimeSpan.FromMilliseconds(1));
        Assert.True(Kicked());
        Assert.Equal(new GatewayPortDecision(2, false, Delay * 2), _recovery.Failed(Machine, PortOpenResult.InUse, clientsMayKnowPort: true));

        _clock.Advance(Delay * 2);
        Assert.True(Kicked());
        Assert.Equal(new GatewayPortDecision(3, true, Delay * 4), _recovery.Failed(Machine, PortOpenResult.InUse, clientsMayKnowPort: true));

        // No free port to move to: the attempts go on, each one a move again.
        _clock.Advance(Delay * 4);
        Assert.True(Kicked());
        Assert.Equal(new GatewayPortDecision(4, true, Delay * 8), _recovery.Failed(Machine, PortOpenResult.InUse, clientsMayKnowPort: true));
        Assert.Equal(1, _recovery.Count);
    }

    [Fact]
    public void A_port_outside_the_range_or_one_no_client_can_know_yet_moves_at_the_first_failure()
    {
        Assert.True(_recovery.Failed(Machine, PortOpenResult.OutsideRange, clientsMayKnowPort: true)!.Value.Move);
        Assert.Equal(1, _recovery.Forget(Machine));

        Assert.True(_recovery.Failed(Machine, PortOpenResult.InUse, clientsMayKnowPort: false)!.Value.Move);
        Assert.Equal(1, _recovery.Forget(Machine));

        Assert.False(_recovery.Failed(Machine, PortOpenResult.Unavailable, clientsMayKnowPort: true)!.Value.Move);
    }

    [Fact]
    public void Success_forgets_the_failures_and_cancels_the_pending_attempt()
    {
        _recovery.Failed(Machine, PortOpenResult.InUse, clientsMayKnowPort: true);
        _clock.Advance(Delay);
        Assert.True(Kicked());
        _recovery.Failed(Machine, PortOpenResult.InUse, clientsMayKnowPort: true);

        Assert.Equal(2, _recovery.Succeeded(Machine));
        _clock.Advance(Delay * 10);

        Assert.False(Kicked());
        Assert.Equal(0, _recovery.Count);
        Assert.Equal(0, _recovery.Succeeded(Machine));
        Assert.Equal(new GatewayPortDecision(1, false, Delay), _recovery.Failed(Machine, PortOpenResult.InUse, clientsMayKnowPort: true));
    }
}
