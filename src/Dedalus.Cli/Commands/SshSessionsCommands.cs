using System.CommandLine;
using Dedalus.Contracts;

namespace Dedalus.Cli.Commands;

/// <summary>
/// <c>dedalus machines ssh create|list|retrieve|delete</c>: the raw SSH session resource (also as the official CLI's
/// <c>dedalus machines:ssh ...</c>, made with another name).
/// </summary>
internal static class SshSessionsCommands
{
    public static Command Create(GlobalOptions global, string name = "ssh")
    {
        var ssh = new Command(name, "SSH sessions of a machine (for a one-step login use `dedalus ssh`)");

        var createMachine = MachinesCommands.MachineIdOption();
        var publicKey = new Option<string>("--public-key")
        {
            Description = "Public key as an authorized_keys line, or @path to read it from a file",
            Required = true,
        };
        var create = new Command("create", "Create an SSH session (a certificate for the key)") { createMachine, publicKey };
        create.SetAction((parseResult, _) => CommandRunner.RunAsync(async ct =>
        {
            var key = parseResult.GetRequiredValue(publicKey);
            if (key.StartsWith('@'))
            {
                var path = key[1..];
                try
                {
                    key = await File.ReadAllTextAsync(path, ct);
                }
                catch (Exception e) when (e is IOException or UnauthorizedAccessException)
                {
                    var why = File.Exists(path) || Directory.Exists(path) ? e.Message : "no such file";
                    throw new CliException($"cannot read the public key file '{path}' ({why}): pass --public-key @path/to/key.pub or the key itself", ExitCodes.Usage);
                }
            }

            using var client = global.CreateClient(parseResult);
            var session = await client.Machines.Ssh.CreateAsync(MachinesCommands.GetMachineId(parseResult, createMachine), key, ct);
            return global.Print(parseResult, session, DedalusJsonContext.Default.SshSession);
        }));
        ssh.Add(create);

        var listMachine = MachinesCommands.MachineIdOption();
        var paging = new ListOptions();
        var list = new Command("list", "List a machine's SSH sessions") { listMachine };
        paging.AddTo(list);
        list.SetAction((parseResult, _) => CommandRunner.RunAsync(async ct =>
        {
            using var client = global.CreateClient(parseResult);
            var machine = MachinesCommands.GetMachineId(parseResult, listMachine);
            return await paging.PrintAsync<SshSession>(
                global,
                parseResult,
                async (limit, cursor, token) =>
                {
                    var page = await client.Machines.Ssh.ListPageAsync(machine, limit, cursor, token);
                    return (page.Items, page.NextCursor);
                },
                DedalusJsonContext.Default.SshSession,
                ct);
        }));
        ssh.Add(list);

        ssh.Add(SessionCommand(global, "retrieve", "Show one SSH session", (c, m, s, ct) => c.Machines.Ssh.RetrieveAsync(m, s, ct)));
        ssh.Add(SessionCommand(global, "delete", "Close an SSH session: revoke its certificate and cut its connections", (c, m, s, ct) => c.Machines.Ssh.DeleteAsync(m, s, ct)));
        return ssh;
    }

    private static Command SessionCommand(
        GlobalOptions global,
        string name,
        string description,
        Func<Client.DedalusClient, string, string, CancellationToken, Task<SshSession>> call)
    {
        var machineId = MachinesCommands.MachineIdOption();
        var sessionId = new Option<string>("--session-id") { Description = "Session id (ss-<hex>, as `dedalus machines ssh list` shows)", Required = true };
        sessionId.Validators.Add(result =>
        {
            // Checked before anything is sent: `..` in a path would name the machine itself (issue #10).
            if (result.Tokens is [.., var last] && !SshSessionIds.IsWellFormed(last.Value))
            {
                result.AddError($"'{last.Value}' is not an ssh session id: pass {SshSessionIds.FormatDescription}, as `dedalus machines ssh list` shows");
            }
        });
        var command = new Command(name, description) { machineId, sessionId };
        command.SetAction((parseResult, _) => CommandRunner.RunAsync(async ct =>
        {
            using var client = global.CreateClient(parseResult);
            var session = await call(client, MachinesCommands.GetMachineId(parseResult, machineId), parseResult.GetRequiredValue(sessionId), ct);
            return global.Print(parseResult, session, DedalusJsonContext.Default.SshSession);
        }));
        return command;
    }
}
