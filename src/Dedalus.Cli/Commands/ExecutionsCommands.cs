using System.CommandLine;
using Dedalus.Client;
using Dedalus.Contracts;

namespace Dedalus.Cli.Commands;

/// <summary>
/// <c>dedalus machines executions list|get|output|events|cancel</c>: the raw executions resource (also as the official
/// CLI's <c>dedalus machines:executions ...</c>, whose <c>retrieve</c> and <c>delete</c> are <c>get</c> and <c>cancel</c>).
/// </summary>
internal static class ExecutionsCommands
{
    /// <summary>What an execution id looks like, for help and errors.</summary>
    private const string IdShape = "ex-<hex> (letters, digits, '-' and '_' only)";

    public static Command Create(GlobalOptions global, string name = "executions")
    {
        var executions = new Command(name, "Executions of a machine: list, show, output, events, cancel (to run one use `dedalus machines exec`)");

        var listMachine = MachinesCommands.MachineIdOption();
        var paging = new ListOptions();
        var list = new Command("list", "List a machine's executions, oldest first (a table on a terminal; JSON when piped, or --format)") { listMachine }.WithHelp("""
            Examples:
              dedalus machines executions list --machine-id <machine_id>
              dedalus machines executions list --machine-id <machine_id> --format raw | jq -r '.[] | select(.status == "running") | .execution_id'
            """);
        paging.AddTo(list);
        list.SetAction((parseResult, _) => CommandRunner.RunAsync(async ct =>
        {
            using var client = global.CreateClient(parseResult);
            var machine = MachinesCommands.GetMachineId(parseResult, listMachine);
            return await paging.PrintAsync<Execution>(
                global,
                parseResult,
                async (limit, cursor, token) =>
                {
                    var page = await client.Machines.Executions.ListPageAsync(machine, limit, cursor, token);
                    return (page.Items, page.NextCursor);
                },
                DedalusJsonContext.Default.Execution,
                ct);
        }));
        executions.Add(list);

        var get = ExecutionCommand(global, "get", "Show one execution: status, exit code or signal, output sizes", (c, m, e, ct) => c.Machines.Executions.GetAsync(m, e, ct), DedalusJsonContext.Default.Execution);
        get.Aliases.Add("retrieve");
        executions.Add(get);
        executions.Add(ExecutionCommand(
            global, "output", "Show the stdout and stderr the server kept (each cut at the server's bound; *_bytes are exact)",
            (c, m, e, ct) => c.Machines.Executions.GetOutputAsync(m, e, ct), DedalusJsonContext.Default.ExecutionOutput));
        executions.Add(EventsCommand(global));
        var cancel = ExecutionCommand(
            global, "cancel", "Cancel an execution: its processes are killed and it ends cancelled (a finished one is shown unchanged)",
            (c, m, e, ct) => c.Machines.Executions.CancelAsync(m, e, ct), DedalusJsonContext.Default.Execution);
        cancel.Aliases.Add("delete");
        executions.Add(cancel);
        return executions;
    }

    private static Option<string> ExecutionIdOption()
    {
        var option = new Option<string>("--execution-id")
        {
            Description = "Execution id (" + IdShape + ", as `dedalus machines executions list` shows)",
            Required = true,
        };
        option.Validators.Add(result =>
        {
            // Checked before anything is sent: `..` in a path would name the machine's executions (issue #10).
            if (result.Tokens is [.., var last] && !SshSessionIds.IsWellFormed(last.Value))
            {
                result.AddError($"'{last.Value}' is not an execution id: pass {IdShape}, as `dedalus machines executions list` shows");
            }
        });
        return option;
    }

    private static Command EventsCommand(GlobalOptions global)
    {
        var machineId = MachinesCommands.MachineIdOption();
        var executionId = ExecutionIdOption();
        var follow = new Option<bool>("--follow", "-f") { Description = "Keep printing events as they happen until the execution has finished (one per line with --format raw or jsonl)" };
        var paging = new ListOptions();
        var command = new Command("events", "Show an execution's events (status changes and output chunks) in order") { machineId, executionId, follow }.WithHelp("""
            Examples:
              dedalus machines executions events --machine-id <machine_id> --execution-id ex-<hex>
              dedalus machines executions events --machine-id <machine_id> --execution-id ex-<hex> --follow --format raw
            """);
        paging.AddTo(command);
        command.Validators.Add(result =>
        {
            if (result.GetResult(follow) is { Implicit: false } && result.GetResult(paging.Cursor) is { Implicit: false })
            {
                result.AddError("--cursor and --follow do not go together: --follow starts at the first event");
            }
        });
        command.SetAction((parseResult, _) => CommandRunner.RunAsync(async ct =>
        {
            using var client = global.CreateClient(parseResult);
            var machine = MachinesCommands.GetMachineId(parseResult, machineId);
            var execution = parseResult.GetRequiredValue(executionId);
            if (parseResult.GetValue(follow))
            {
                var output = global.CreateOutput(parseResult);
                var left = parseResult.GetValue(paging.MaxItems) is { } max and >= 0 ? max : long.MaxValue;
                if (left == 0)
                {
                    return ExitCodes.Ok;
                }

                await foreach (var item in client.Machines.Executions.FollowEventsAsync(machine, execution, cancellationToken: ct))
                {
                    output.Write(item, DedalusJsonContext.Default.ExecutionEvent);
                    if (--left == 0)
                    {
                        break;
                    }
                }

                return ExitCodes.Ok;
            }

            // The events stored so far: pages until one is empty or the last (the cursor of a live execution stays).
            return await paging.PrintAsync<ExecutionEvent>(
                global,
                parseResult,
                async (limit, cursor, token) =>
                {
                    var page = await client.Machines.Executions.ListEventsAsync(machine, execution, limit, cursor, token);
                    return (page.Items, page.NextCursor);
                },
                DedalusJsonContext.Default.ExecutionEvent,
                ct);
        }));
        return command;
    }

    private static Command ExecutionCommand<T>(
        GlobalOptions global,
        string name,
        string description,
        Func<DedalusClient, string, string, CancellationToken, Task<T>> call,
        System.Text.Json.Serialization.Metadata.JsonTypeInfo<T> typeInfo)
    {
        var machineId = MachinesCommands.MachineIdOption();
        var executionId = ExecutionIdOption();
        var command = new Command(name, description) { machineId, executionId };
        command.SetAction((parseResult, _) => CommandRunner.RunAsync(async ct =>
        {
            using var client = global.CreateClient(parseResult);
            var value = await call(client, MachinesCommands.GetMachineId(parseResult, machineId), parseResult.GetRequiredValue(executionId), ct);
            return global.Print(parseResult, value, typeInfo);
        }));
        return command;
    }
}
