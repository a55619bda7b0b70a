using System.CommandLine;
using Dedalus.Client;
using Dedalus.Contracts;

namespace Dedalus.Cli.Commands;

/// <summary><c>dedalus machines create|list|retrieve|update|delete|sleep|wake|watch</c> and <c>dedalus machines ssh ...</c>.</summary>
internal static class MachinesCommands
{
    public static Command Create(GlobalOptions global)
    {
        var machines = new Command("machines", "Create, inspect, resize, sleep, wake and destroy machines");
        machines.Add(CreateCommand(global));
        machines.Add(ListCommand(global));
        machines.Add(Simple(global, "retrieve", "Show one machine", (c, id, ct) => c.Machines.RetrieveAsync(id, ct)));
        machines.Add(UpdateCommand(global));
        machines.Add(Simple(global, "delete", "Destroy a machine and its storage", (c, id, ct) => c.Machines.DeleteAsync(id, ct)));
        machines.Add(Simple(global, "sleep", "Put a machine to sleep (storage is kept)", (c, id, ct) => c.Machines.SleepAsync(id, ct)));
        machines.Add(Simple(global, "wake", "Wake a sleeping machine", (c, id, ct) => c.Machines.WakeAsync(id, ct)));
        machines.Add(WatchCommand(global));
        machines.Add(SshSessionsCommands.Create(global));
        return machines;
    }

    internal static Option<string> MachineIdOption() => new("--machine-id")
    {
        Description = "Machine id (dm-<uuid> or the bare uuid)",
        Required = true,
    };

    internal static Option<int?> LimitOption() => new("--limit")
    {
        Description = "Page size to ask the server for (every page is fetched)",
    };

    private static Command CreateCommand(GlobalOptions global)
    {
        var vcpu = new Option<double>("--vcpu") { Description = "Virtual CPUs, in steps of 0.25", Required = true };
        var memory = new Option<long>("--memory-mib") { Description = "Memory in MiB", Required = true };
        var storage = new Option<long>("--storage-gib") { Description = "Persistent storage (/home/machine) in GiB", Required = true };
        var autosleep = new Option<string?>("--autosleep") { Description = "Idle time before sleep: 30s, 15m, 2h, 1w3d, seconds, or never" };
        var command = new Command("create", "Create a machine") { vcpu, memory, storage, autosleep };
        command.SetAction((parseResult, ct) => CommandRunner.RunAsync(async () =>
        {
            using var client = global.CreateClient(parseResult);
            var request = new CreateMachineRequest(
                parseResult.GetValue(vcpu), parseResult.GetValue(memory), parseResult.GetValue(storage), parseResult.GetValue(autosleep));
            var machine = await client.Machines.CreateAsync(request, ct);
            global.CreateOutput(parseResult).Write(machine, DedalusJsonContext.Default.Machine);
            return ExitCodes.Ok;
        }));
        return command;
    }

    private static Command UpdateCommand(GlobalOptions global)
    {
        var machineId = MachineIdOption();
        var vcpu = new Option<double?>("--vcpu") { Description = "New virtual CPU count" };
        var memory = new Option<long?>("--memory-mib") { Description = "New memory in MiB" };
        var storage = new Option<long?>("--storage-gib") { Description = "New storage in GiB (grow only)" };
        var autosleep = new Option<string?>("--autosleep") { Description = "New idle time before sleep, or never" };
        var command = new Command("update", "Resize a machine or change its autosleep") { machineId, vcpu, memory, storage, autosleep };
        command.SetAction((parseResult, ct) => CommandRunner.RunAsync(async () =>
        {
            using var client = global.CreateClient(parseResult);
            var request = new UpdateMachineRequest(
                parseResult.GetValue(vcpu), parseResult.GetValue(memory), parseResult.GetValue(storage), parseResult.GetValue(autosleep));
            var machine = await client.Machines.UpdateAsync(parseResult.GetRequiredValue(machineId), request, ct);
            global.CreateOutput(parseResult).Write(machine, DedalusJsonContext.Default.Machine);
            return ExitCodes.Ok;
        }));
        return command;
    }

    private static Command ListCommand(GlobalOptions global)
    {
        var limit = LimitOption();
        var command = new Command("list", "List machines") { limit };
        command.SetAction((parseResult, ct) => CommandRunner.RunAsync(async () =>
        {
            using var client = global.CreateClient(parseResult);
            var machines = new List<Machine>();
            await foreach (var machine in client.Machines.ListAsync(parseResult.GetValue(limit), ct))
            {
                machines.Add(machine);
            }

            global.CreateOutput(parseResult).WriteList(machines, DedalusJsonContext.Default.Machine);
            return ExitCodes.Ok;
        }));
        return command;
    }

    private static Command WatchCommand(GlobalOptions global)
    {
        var machineId = MachineIdOption();
        var lastEventId = new Option<string?>("--last-event-id") { Description = "Resume after this event id" };
        var command = new Command("watch", "Follow a machine's status events until it reaches its desired state") { machineId, lastEventId };
        command.SetAction((parseResult, ct) => CommandRunner.RunAsync(async () =>
        {
            using var client = global.CreateClient(parseResult);
            var output = global.CreateOutput(parseResult);
            await foreach (var machine in client.Machines.WatchAsync(parseResult.GetRequiredValue(machineId), parseResult.GetValue(lastEventId), ct))
            {
                output.Write(machine, DedalusJsonContext.Default.Machine);
            }

            return ExitCodes.Ok;
        }));
        return command;
    }

    private static Command Simple(
        GlobalOptions global,
        string name,
        string description,
        Func<DedalusClient, string, CancellationToken, Task<Machine>> call)
    {
        var machineId = MachineIdOption();
        var command = new Command(name, description) { machineId };
        command.SetAction((parseResult, ct) => CommandRunner.RunAsync(async () =>
        {
            using var client = global.CreateClient(parseResult);
            var machine = await call(client, parseResult.GetRequiredValue(machineId), ct);
            global.CreateOutput(parseResult).Write(machine, DedalusJsonContext.Default.Machine);
            return ExitCodes.Ok;
        }));
        return command;
    }
}
