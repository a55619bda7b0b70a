using System.Collections.Concurrent;
using Dedalus.Contracts;
using Dedalus.Machines.Runtime;
using Dedalus.Server.Hosting;
using Dedalus.Server.Store;

namespace Dedalus.Server.Machines;

/// <summary>
/// RAM autoresizing at work (<see cref="AutoresizePolicy"/>): every <see cref="ServerOptions.AutoresizeInterval"/> it
/// reads the memory of each running machine whose switch is on (its own, else its org's policy) and raises the limit a
/// step when the machine nears it, recording each completed increase in the store (<c>status.memory_*</c>). It also
/// keeps the runtime's hold mode in line with the switch: held at the limit below the ceiling while on, plain OOM
/// killing while off (memory already added stays). A machine whose increase fails reports <c>memory_resize_state</c>
/// <c>error</c> and is tried again at the next tick.
/// </summary>
public sealed class MemoryAutoresizer(
    IStore store,
    IMachineRuntime runtime,
    MachineWriter writer,
    ServerOptions options,
    TimeProvider timeProvider,
    Cluster.LocalNode local,
    StoreOutageLog outage,
    ILogger<MemoryAutoresizer> logger) : BackgroundService
{
    private readonly AutoresizePolicy _policy = new(options.AutoresizeCeilingFactor, options.Limits.MaxMemoryMib);

    /// <summary>What was last applied to each running machine (limit, hold), so that an unchanged machine costs one read.</summary>
    private readonly ConcurrentDictionary<string, MachineMemoryPolicy> _applied = new(StringComparer.Ordinal);

    /// <summary>One pass at a time: the timer's and those of a switch just changed.</summary>
    private readonly SemaphoreSlim _pass = new(1, 1);

    /// <summary>
    /// Runs a pass now, so that a switch just turned on (or off) is in effect on the running machines when the PUT
    /// answers: a machine that starts allocating right after it is held, not OOM-killed, even on a busy host.
    /// </summary>
    public async Task ApplyNowAsync(CancellationToken cancellationToken = default)
    {
        try
        {
            await RunOnceAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (StoreUnavailableException ex)
        {
            outage.Report("memory autoresizing", ex);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            ServerLog.AutoresizeFailed(logger, ex);
        }
    }

    public override void Dispose()
    {
        _pass.Dispose();
        base.Dispose();
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        // It samples real memory use, so it ticks on the wall clock; times it records come from the injected clock.
        using var timer = new PeriodicTimer(options.AutoresizeInterval, TimeProvider.System);
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken).ConfigureAwait(false))
            {
                try
                {
                    await RunOnceAsync(stoppingToken).ConfigureAwait(false);
                }
                catch (StoreUnavailableException ex)
                {
                    outage.Report("memory autoresizing", ex);
                }
                catch (Exception ex) when (ex is not OperationCanceledException)
                {
                    ServerLog.AutoresizeFailed(logger, ex);
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    /// <summary>One pass over the running machines.</summary>
    internal async Task RunOnceAsync(CancellationToken cancellationToken)
    {
        await _pass.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            await PassAsync(cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            _pass.Release();
        }
    }

    private async Task PassAsync(CancellationToken cancellationToken)
    {
        var orgsOn = await store.ListAutoresizeOrgsAsync(cancellationToken).ConfigureAwait(false);
        var machines = (await store.ListLiveMachinesAsync(cancellationToken).ConfigureAwait(false)).Where(m => local.Owns(m.NodeId)).ToList();
        var running = new HashSet<string>(StringComparer.Ordinal);
        foreach (var machine in machines)
        {
            if (machine.Phase != MachinePhases.Running || machine.DesiredState != DesiredStates.Running || machine.Reboot is not null)
            {
                continue;
            }

            running.Add(machine.Id);
            var enabled = machine.Autoresize ?? orgsOn.Contains(machine.OrgId);
            try
            {
                await VisitAsync(machine, enabled, cancellationToken).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is MachineNotRunningException or MachineNotFoundException)
            {
                // It stopped since the list was read: the next start applies what its record says.
                _applied.TryRemove(machine.Id, out _);
            }
            catch (Exception ex) when (ex is MachineRuntimeException or IOException)
            {
                _applied.TryRemove(machine.Id, out _);
                ServerLog.AutoresizeMachineFailed(logger, machine.Id, ex);
                await RecordAsync(machine, m => m with { MemoryResizeState = MemoryResizeStates.Error, LastError = "memory autoresizing: " + ex.Message }, cancellationToken)
                    .ConfigureAwait(false);
            }
        }

        // A machine that stopped gets its limit and hold mode from its record at the next start: read it afresh then.
        foreach (var id in _applied.Keys.Where(id => !running.Contains(id)).ToList())
        {
            _applied.TryRemove(id, out _);
        }
    }

    private async Task VisitAsync(MachineRecord machine, bool enabled, CancellationToken cancellationToken)
    {
        if (!enabled)
        {
            // Off: a plain limit (memory already added stays); nothing to read.
            await ApplyAsync(machine.Id, new MachineMemoryPolicy(machine.MemoryConfiguredMib, HoldAtLimit: false), state: null, cancellationToken).ConfigureAwait(false);
            if (machine.MemoryResizeState is not null)
            {
                await RecordAsync(machine, m => m with { MemoryResizeState = null }, cancellationToken).ConfigureAwait(false);
            }

            return;
        }

        var state = await runtime.ReadMemoryAsync(machine.Id, cancellationToken).ConfigureAwait(false);
        var limit = Math.Max(state.LimitMib, machine.MemoryConfiguredMib);
        var next = _policy.NextLimitMib(machine, limit, state.UsageBytes, state.Held);
        var policy = new MachineMemoryPolicy(next, _policy.HoldAt(machine, next, enabled), _policy.CeilingMib(machine));
        await ApplyAsync(machine.Id, policy, state, cancellationToken).ConfigureAwait(false);

        var resizeState = _policy.StateFor(machine, next, state.UsageBytes, state.Held && next == limit);
        if (next > machine.MemoryConfiguredMib)
        {
            ServerLog.MemoryAutoresized(logger, machine.Id, machine.MemoryConfiguredMib, next, _policy.CeilingMib(machine));
            var now = timeProvider.GetUtcNow();
            await RecordAsync(
                machine,
                m => m with
                {
                    MemoryAutoresizedMib = next - m.MemoryMib,
                    MemoryLastAutoresizedAt = now,
                    MemoryResizeState = resizeState == MemoryResizeStates.Stable ? null : resizeState,
                    LastError = m.MemoryResizeState == MemoryResizeStates.Error ? null : m.LastError,
                },
                cancellationToken).ConfigureAwait(false);
        }
        else if ((machine.MemoryResizeState ?? MemoryResizeStates.Stable) != resizeState)
        {
            await RecordAsync(
                machine,
                m => m with
                {
                    MemoryResizeState = resizeState == MemoryResizeStates.Stable ? null : resizeState,
                    LastError = m.MemoryResizeState == MemoryResizeStates.Error ? null : m.LastError,
                },
                cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// Applies a limit and hold mode unless it is what was applied last and what the runtime reports
    /// (<paramref name="state"/>, when read: a resize meanwhile sets the limit anew).
    /// </summary>
    private async Task ApplyAsync(string machineId, MachineMemoryPolicy policy, MachineMemoryState? state, CancellationToken cancellationToken)
    {
        var current = state is null || (state.LimitMib == policy.LimitMib && state.HoldAtLimit == policy.HoldAtLimit);
        if (current && _applied.TryGetValue(machineId, out var last) && last == policy)
        {
            return;
        }

        await runtime.SetMemoryAsync(machineId, policy, cancellationToken).ConfigureAwait(false);
        _applied[machineId] = policy;
    }

    /// <summary>Writes a change to the machine's memory fields, re-reading once if the record moved meanwhile.</summary>
    private async Task RecordAsync(MachineRecord machine, Func<MachineRecord, MachineRecord> change, CancellationToken cancellationToken)
    {
        for (var attempt = 0; attempt < 3; attempt++)
        {
            var next = change(machine) with { LastProgressAt = timeProvider.GetUtcNow() };
            if (await writer.TryWriteAsync(machine, next, cancellationToken).ConfigureAwait(false))
            {
                return;
            }

            if (await store.GetMachineAsync(machine.Id, cancellationToken).ConfigureAwait(false) is not { } current
                || current.Phase != MachinePhases.Running || current.MemoryMib != machine.MemoryMib)
            {
                // Stopped, or a caller set memory_mib meanwhile (the new base drops the increases): nothing to record.
                _applied.TryRemove(machine.Id, out _);
                return;
            }

            machine = current;
        }
    }
}
