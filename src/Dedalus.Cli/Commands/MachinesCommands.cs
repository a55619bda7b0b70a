using System.CommandLine;
using System.Globalization;
using Dedalus.Client;
using Dedalus.Contracts;

namespace Dedalus.Cli.Commands;

/// <summary>
/// <c>dedalus machines create|list|retrieve|update|delete|sleep|wake|reboot|watch</c>, <c>dedalus machines ssh ...</c>,
/// <c>dedalus machines exec</c>, <c>dedalus machines executions ...</c> and <c>dedalus machines autoresizing ...</c>.
/// A machine is given by id or name, as the first argument or with <c>--machine-id</c>.
/// </summary>
internal static class MachinesCommands
{
    /// <summary>The pretty view of a machine shows its name second (empty when it has none).</summary>
    internal static readonly string[] MachineColumns = ["machine_id", "name"];

    public static Command Create(GlobalOptions global)
    {
        var machines = new Command("machines", "Create, inspect, resize, sleep, wake, reboot and destroy machines");
        machines.Add(CreateCommand(global));
        machines.Add(ListCommand(global));
        var retrieve = Simple(global, "retrieve", "Show one machine", (c, id, ct) => c.Machines.RetrieveAsync(id, ct));
        retrieve.Aliases.Add("get");
        machines.Add(retrieve);
        machines.Add(UpdateCommand(global));
        machines.Add(Simple(global, "delete", "Destroy a machine and its storage", (c, id, ct) => c.Machines.DeleteAsync(id, ct)));
        machines.Add(Simple(global, "sleep", "Put a machine to sleep (storage is kept)", (c, id, ct) => c.Machines.SleepAsync(id, ct)));
        machines.Add(Simple(global, "wake", "Wake a sleeping machine", (c, id, ct) => c.Machines.WakeAsync(id, ct)));
        machines.Add(RebootCommand(global));
        machines.Add(WatchCommand(global));
        machines.Add(SshSessionsCommands.Create(global));
        machines.Add(ExecCommand.Create(global));
        machines.Add(ExecutionsCommands.Create(global));
        machines.Add(AutoresizingCommands.ForMachines(global));
        return machines;
    }

    internal static Option<string> MachineIdOption(bool required = true)
    {
        var option = new Option<string>("--machine-id")
        {
            Description = "Machine id (the uuid, or dm-<uuid>) or machine name, as `dedalus machines list` shows",
            Required = required,
        };
        option.Validators.Add(result =>
        {
            var value = result.Tokens.Count > 0 ? result.Tokens[^1].Value : null;
            if (value is not null && !MachineIdInput.TryParseIdOrName(value, out _, out var problem))
            {
                result.AddError(MachineIdInput.Error(value, problem));
            }
        });
        return option;
    }

    /// <summary>The canonical id (lower case, <c>dm-</c> prefixed) or the name of a validated <c>--machine-id</c>.</summary>
    internal static string GetMachineId(ParseResult parseResult, Option<string> option)
    {
        var value = parseResult.GetRequiredValue(option);
        return MachineIdInput.TryParseIdOrName(value, out var id, out _) ? id : value;
    }

    /// <summary><c>--name</c> of create and update; on update the empty string removes the name.</summary>
    private static Option<string?> NameOption(bool allowEmpty)
    {
        var option = new Option<string?>("--name")
        {
            Description = allowEmpty
                ? "New name (\"\" removes it): unique in the organization, usable wherever a machine id goes"
                : "A name, unique in the organization, usable wherever a machine id goes (1 to 63 characters, no '/')",
        };
        option.Validators.Add(result =>
        {
            if (result.Tokens is [.., var last] && !(allowEmpty && last.Value.Length == 0))
            {
                var problem = last.Value is "." or ".." ? "cannot be '.' or '..'" : MachineNames.Problem(last.Value);
                if (problem is not null)
                {
                    result.AddError($"--name {problem}");
                }
            }
        });
        return option;
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
        var vcpu = new Option<double?>("--vcpu") { Description = "Virtual CPUs, in steps of 0.25 (default: 1; server default limits: 0.25 to 64)" };
        var memory = new Option<long?>("--memory-mib") { Description = "Memory in MiB (default: 4096; server default limits: 128 to 262144)" };
        var storage = new Option<long?>("--storage-gib")
        {
            Description = "Persistent storage (/home/machine) in GiB, can only grow later (default: 10; server default limits: 1 to 1024)",
        };
        var autosleep = new Option<string?>("--autosleep")
        {
            Description = "Idle time before the machine sleeps: 30s, 15m, 2h, 1w3d, a number of seconds, or never (default: 5m)",
        };
        var name = NameOption(allowEmpty: false);
        var network = new NetworkOptions(update: false);
        var command = new Command("create", "Create a machine (it starts at once; `dedalus ssh <machine_id>` waits until it is ready)")
        {
            vcpu, memory, storage, autosleep, name,
        }.WithHelp("""
            Every option has a default: `dedalus machines create` alone makes 1 vCPU, 4096 MiB, 10 GiB, autosleep 5m,
            with outbound access to the internet (not to the host, other machines or private ranges).

            Examples:
              dedalus machines create
              dedalus machines create --vcpu 1 --memory-mib 1024 --storage-gib 2 --name web-1
              dedalus machines create --vcpu 2 --memory-mib 4096 --storage-gib 20 --autosleep never --format raw
              id=$(dedalus machines create --vcpu 1 --memory-mib 1024 --storage-gib 2 --transform machine_id -r)
              dedalus machines create --egress none                     no network access at all
              dedalus machines create --allow-cidr 10.20.0.0/16         also an internal range (a package mirror, say)
            """);
        network.AddTo(command);
        command.SetAction((parseResult, _) => CommandRunner.RunAsync(async ct =>
        {
            using var client = global.CreateClient(parseResult);
            var request = new CreateMachineRequest(
                parseResult.GetValue(vcpu), parseResult.GetValue(memory), parseResult.GetValue(storage), parseResult.GetValue(autosleep), parseResult.GetValue(name),
                network.Get(parseResult));
            var machine = await client.Machines.CreateAsync(request, ct);
            return global.Print(parseResult, machine, DedalusJsonContext.Default.Machine, MachineColumns);
        }));
        return command;
    }

    private static Command UpdateCommand(GlobalOptions global)
    {
        var target = new MachineTarget();
        var vcpu = new Option<double?>("--vcpu") { Description = "New virtual CPU count" };
        var memory = new Option<long?>("--memory-mib") { Description = "New memory in MiB" };
        var storage = new Option<long?>("--storage-gib") { Description = "New storage in GiB (grow only)" };
        var autosleep = new Option<string?>("--autosleep") { Description = "New idle time before sleep, or never" };
        var name = NameOption(allowEmpty: true);
        var network = new NetworkOptions(update: true);
        var command = new Command("update", "Resize, rename, or change the autosleep or network access of a machine (only the options given change)")
        {
            vcpu, memory, storage, autosleep, name,
        }.WithHelp("""
            Examples:
              dedalus machines update <machine_id> --storage-gib 10
              dedalus machines update --machine-id <machine_id> --autosleep 2h
              dedalus machines update <machine_id> --name web-1        then `dedalus machines retrieve web-1`
              dedalus machines update web-1 --name ""               removes the name
              dedalus machines update web-1 --egress none           cuts its network at once (running or not)
              dedalus machines update web-1 --allow-cidr none       empties its allow list
            """);
        target.AddTo(command);
        network.AddTo(command);
        command.SetAction((parseResult, _) => CommandRunner.RunAsync(async ct =>
        {
            if (parseResult.GetValue(vcpu) is null && parseResult.GetValue(memory) is null && parseResult.GetValue(storage) is null
                && parseResult.GetValue(autosleep) is null && parseResult.GetValue(name) is null && !network.AnyGiven(parseResult))
            {
                throw new CliException(
                    "nothing to change: pass --vcpu, --memory-mib, --storage-gib, --autosleep, --name, --egress, --allow-cidr or --deny-cidr " +
                    "(see `dedalus machines update --help`)", ExitCodes.Usage);
            }

            using var client = global.CreateClient(parseResult);
            var request = new UpdateMachineRequest(
                parseResult.GetValue(vcpu), parseResult.GetValue(memory), parseResult.GetValue(storage), parseResult.GetValue(autosleep), parseResult.GetValue(name),
                network.Get(parseResult));
            var machine = await client.Machines.UpdateAsync(target.Get(parseResult), request, ct);
            return global.Print(parseResult, machine, DedalusJsonContext.Default.Machine, MachineColumns);
        }));
        return command;
    }

    private static Command RebootCommand(GlobalOptions global)
    {
        var target = new MachineTarget();
        var force = new Option<bool>("--force")
        {
            Description = "Recover from the last committed file system checkpoint without the machine's cooperation (unpublished writes are lost)",
        };
        var command = new Command("reboot", "Reboot a machine with fresh memory: files and id kept; RAM, processes and temporary mounts cleared")
        {
            force,
        }.WithHelp("""
            Examples:
              dedalus machines reboot <machine_id>
              dedalus machines reboot --machine-id web-1 --force
              dedalus machines reboot web-1 && dedalus machines watch web-1     follow it until it runs again
            """);
        target.AddTo(command);
        command.SetAction((parseResult, _) => CommandRunner.RunAsync(async ct =>
        {
            using var client = global.CreateClient(parseResult);
            var machine = await client.Machines.RebootAsync(target.Get(parseResult), parseResult.GetValue(force), ct);
            return global.Print(parseResult, machine, DedalusJsonContext.Default.Machine, MachineColumns);
        }));
        return command;
    }

    private static Command ListCommand(GlobalOptions global)
    {
        var paging = new ListOptions();
        var command = new Command("list", "List machines (a table on a terminal; JSON when piped, or --format)").WithHelp("""
            Examples:
              dedalus machines list
              dedalus machines list --format raw | jq -r '.[] | select(.phase == "running") | .machine_id'
              dedalus machines list --transform machine_id -r
              dedalus machines list --max-items 20      then --cursor with the `next cursor:` that stderr shows
            """);
        paging.AddTo(command);
        command.SetAction((parseResult, _) => CommandRunner.RunAsync(async ct =>
        {
            using var client = global.CreateClient(parseResult);
            return await paging.PrintAsync<Machine>(
                global,
                parseResult,
                async (limit, cursor, token) =>
                {
                    var page = await client.Machines.ListPageAsync(limit, cursor, token);
                    return (page.Items, page.NextCursor);
                },
                DedalusJsonContext.Default.Machine,
                ct,
                MachineColumns);
        }));
        return command;
    }

    private static Command WatchCommand(GlobalOptions global)
    {
        var target = new MachineTarget();
        var maxItems = new Option<long?>("--max-items") { Description = "Stop after this many events (-1: until the machine reaches its desired state)", HelpName = "count" };
        var lastEventId = new Option<string?>("--last-event-id") { Description = "Resume after this event id" };
        lastEventId.Validators.Add(result =>
        {
            // It is sent as a header (Last-Event-ID): a control character would break the request.
            if (result.Tokens is [.., var last] && last.Value.Any(char.IsControl))
            {
                result.AddError("--last-event-id must be an event id from an earlier watch (the id: lines), without control characters");
            }
        });
        var command = new Command("watch", "Follow a machine's status events until it reaches its desired state") { lastEventId, maxItems };
        target.AddTo(command);
        command.SetAction((parseResult, _) => CommandRunner.RunAsync(async ct =>
        {
            using var client = global.CreateClient(parseResult);
            var output = global.CreateOutput(parseResult, MachineColumns);
            var left = parseResult.GetValue(maxItems) is { } max and >= 0 ? max : long.MaxValue;
            if (left == 0)
            {
                return ExitCodes.Ok;
            }

            await foreach (var machine in client.Machines.WatchAsync(target.Get(parseResult), parseResult.GetValue(lastEventId), ct))
            {
                output.Write(machine, DedalusJsonContext.Default.Machine);
                if (--left == 0)
                {
                    break;
                }
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
        var target = new MachineTarget();
        var command = new Command(name, description);
        target.AddTo(command);
        command.SetAction((parseResult, _) => CommandRunner.RunAsync(async ct =>
        {
            using var client = global.CreateClient(parseResult);
            var machine = await call(client, target.Get(parseResult), ct);
            return global.Print(parseResult, machine, DedalusJsonContext.Default.Machine, MachineColumns);
        }));
        return command;
    }
}
