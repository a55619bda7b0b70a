using System.CommandLine;
using System.Globalization;
using Dedalus.Client;
using Dedalus.Contracts;

namespace Dedalus.Cli.Commands;

/// <summary>
/// <c>dedalus machines create|list|retrieve|update|delete|sleep|wake|watch</c>, <c>dedalus machines ssh ...</c>,
/// <c>dedalus machines exec</c> and <c>dedalus machines executions ...</c>.
/// </summary>
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
        machines.Add(ExecCommand.Create(global));
        machines.Add(ExecutionsCommands.Create(global));
        return machines;
    }

    internal static Option<string> MachineIdOption(bool required = true)
    {
        var option = new Option<string>("--machine-id")
        {
            Description = "Machine id (dm-<uuid> or the bare uuid, as `dedalus machines list` shows)",
            Required = required,
        };
        option.Validators.Add(result =>
        {
            var value = result.Tokens.Count > 0 ? result.Tokens[^1].Value : null;
            if (value is not null && !MachineIdInput.TryParse(value, out _))
            {
                result.AddError($"'{value}' is not a machine id: pass dm-<uuid> or the bare uuid, as `dedalus machines list` shows");
            }
        });
        return option;
    }

    /// <summary>The canonical id (lower case, <c>dm-</c> prefixed) of a validated <c>--machine-id</c>.</summary>
    internal static string GetMachineId(ParseResult parseResult, Option<string> option)
    {
        var value = parseResult.GetRequiredValue(option);
        return MachineIdInput.TryParse(value, out var id) ? id : value;
    }

    internal static Option<int?> LimitOption()
    {
        var option = new Option<int?>("--limit")
        {
            Description = "Page size to ask the server for, 1 or more (every page is fetched; default: the server's)",
        };
        option.Validators.Add(result =>
        {
            // A value that is no number is System.CommandLine's error (converting it here would throw).
            if (result.Tokens is [.., var last] && int.TryParse(last.Value, NumberStyles.Integer, CultureInfo.InvariantCulture, out var limit) && limit < 1)
            {
                result.AddError("--limit must be 1 or more");
            }
        });
        return option;
    }

    private static Command CreateCommand(GlobalOptions global)
    {
        var vcpu = new Option<double>("--vcpu") { Description = "Virtual CPUs, in steps of 0.25 (server default limits: 0.25 to 64)", Required = true };
        var memory = new Option<long>("--memory-mib") { Description = "Memory in MiB (server default limits: 128 to 262144)", Required = true };
        var storage = new Option<long>("--storage-gib")
        {
            Description = "Persistent storage (/home/machine) in GiB, can only grow later (server default limits: 1 to 1024)",
            Required = true,
        };
        var autosleep = new Option<string?>("--autosleep")
        {
            Description = "Idle time before the machine sleeps: 30s, 15m, 2h, 1w3d, a number of seconds, or never (default: 5m)",
        };
        var command = new Command("create", "Create a machine (it starts at once; `dedalus ssh <machine_id>` waits until it is ready)")
        {
            vcpu, memory, storage, autosleep,
        }.WithHelp("""
            Examples:
              dedalus machines create --vcpu 1 --memory-mib 1024 --storage-gib 2
              dedalus machines create --vcpu 2 --memory-mib 4096 --storage-gib 20 --autosleep never --format raw
              id=$(dedalus machines create --vcpu 1 --memory-mib 1024 --storage-gib 2 --format raw | jq -r .machine_id)
            """);
        command.SetAction((parseResult, _) => CommandRunner.RunAsync(async ct =>
        {
            using var client = global.CreateClient(parseResult);
            var request = new CreateMachineRequest(
                parseResult.GetValue(vcpu), parseResult.GetValue(memory), parseResult.GetValue(storage), parseResult.GetValue(autosleep));
            var machine = await client.Machines.CreateAsync(request, ct);
            return global.Print(parseResult, machine, DedalusJsonContext.Default.Machine);
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
        var command = new Command("update", "Resize a machine or change its autosleep (only the options given change)")
        {
            machineId, vcpu, memory, storage, autosleep,
        }.WithHelp("""
            Examples:
              dedalus machines update --machine-id dm-<uuid> --storage-gib 10
              dedalus machines update --machine-id dm-<uuid> --autosleep 2h
            """);
        command.SetAction((parseResult, _) => CommandRunner.RunAsync(async ct =>
        {
            if (parseResult.GetValue(vcpu) is null && parseResult.GetValue(memory) is null && parseResult.GetValue(storage) is null && parseResult.GetValue(autosleep) is null)
            {
                throw new CliException("nothing to change: pass --vcpu, --memory-mib, --storage-gib or --autosleep (see `dedalus machines update --help`)", ExitCodes.Usage);
            }

            using var client = global.CreateClient(parseResult);
            var request = new UpdateMachineRequest(
                parseResult.GetValue(vcpu), parseResult.GetValue(memory), parseResult.GetValue(storage), parseResult.GetValue(autosleep));
            var machine = await client.Machines.UpdateAsync(GetMachineId(parseResult, machineId), request, ct);
            return global.Print(parseResult, machine, DedalusJsonContext.Default.Machine);
        }));
        return command;
    }

    private static Command ListCommand(GlobalOptions global)
    {
        var limit = LimitOption();
        var command = new Command("list", "List machines (a table on a terminal; JSON when piped, or --format)") { limit }.WithHelp("""
            Examples:
              dedalus machines list
              dedalus machines list --format raw | jq -r '.[] | select(.phase == "running") | .machine_id'
            """);
        command.SetAction((parseResult, _) => CommandRunner.RunAsync(async ct =>
        {
            using var client = global.CreateClient(parseResult);
            var machines = new List<Machine>();
            await foreach (var machine in client.Machines.ListAsync(parseResult.GetValue(limit), ct))
            {
                machines.Add(machine);
            }

            return global.PrintList(parseResult, machines, DedalusJsonContext.Default.Machine);
        }));
        return command;
    }

    private static Command WatchCommand(GlobalOptions global)
    {
        var machineId = MachineIdOption();
        var lastEventId = new Option<string?>("--last-event-id") { Description = "Resume after this event id" };
        lastEventId.Validators.Add(result =>
        {
            // It is sent as a header (Last-Event-ID): a control character would break the request.
            if (result.Tokens is [.., var last] && last.Value.Any(char.IsControl))
            {
                result.AddError("--last-event-id must be an event id from an earlier watch (the id: lines), without control characters");
            }
        });
        var command = new Command("watch", "Follow a machine's status events until it reaches its desired state") { machineId, lastEventId };
        command.SetAction((parseResult, _) => CommandRunner.RunAsync(async ct =>
        {
            using var client = global.CreateClient(parseResult);
            var output = global.CreateOutput(parseResult);
            await foreach (var machine in client.Machines.WatchAsync(GetMachineId(parseResult, machineId), parseResult.GetValue(lastEventId), ct))
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
        command.SetAction((parseResult, _) => CommandRunner.RunAsync(async ct =>
        {
            using var client = global.CreateClient(parseResult);
            var machine = await call(client, GetMachineId(parseResult, machineId), ct);
            return global.Print(parseResult, machine, DedalusJsonContext.Default.Machine);
        }));
        return command;
    }
}
