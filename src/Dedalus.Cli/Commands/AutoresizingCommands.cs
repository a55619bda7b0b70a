using System.CommandLine;
using Dedalus.Contracts;

namespace Dedalus.Cli.Commands;

/// <summary>
/// RAM autoresizing: <c>dedalus machines autoresizing get|enable|disable|update MACHINE</c> and
/// <c>dedalus organization autoresizing get|enable|disable|update</c>. <c>retrieve</c> and <c>update --enabled[=false]</c>
/// are the official CLI's spellings (<c>machines:autoresizing retrieve|update</c>); <c>get</c>, <c>enable</c> and
/// <c>disable</c> say the same in fewer words.
/// </summary>
internal static class AutoresizingCommands
{
    private const string What = "automatic memory increases when a machine nears its limit";

    public static Command ForMachines(GlobalOptions global, string name = "autoresizing")
    {
        var group = new Command(name, "A machine's RAM autoresizing: " + What).WithHelp("""
            The organization's policy (`dedalus organization autoresizing`) must allow it too; the effects show in the
            machine's status.memory_* fields (`dedalus machines retrieve`).

            Examples:
              dedalus machines autoresizing get <machine_id>
              dedalus machines autoresizing enable web-1
              dedalus machines autoresizing update --machine-id <machine_id> --enabled=false
            """);
        var get = MachineCommand(global, "get", "Show whether the machine's memory may grow automatically", null);
        get.Aliases.Add("retrieve");
        group.Add(get);
        group.Add(MachineCommand(global, "enable", "Let the machine's memory grow automatically", true));
        group.Add(MachineCommand(global, "disable", "Stop the machine's memory from growing automatically (memory already added stays)", false));
        group.Add(MachineCommand(global, "update", "Set the machine's autoresizing: --enabled or --enabled=false", enabled: null, withEnabledOption: true));
        return group;
    }

    public static Command ForOrganization(GlobalOptions global, string name = "autoresizing")
    {
        var group = new Command(name, "The organization's RAM autoresizing policy: " + What).WithHelp("""
            Disabling keeps the memory already added and the increases already admitted.

            Examples:
              dedalus organization autoresizing get
              dedalus organization autoresizing enable
              dedalus organization autoresizing update --enabled=false
            """);
        var get = OrganizationCommand(global, "get", "Show whether the organization allows automatic memory increases", null);
        get.Aliases.Add("retrieve");
        group.Add(get);
        group.Add(OrganizationCommand(global, "enable", "Allow automatic memory increases for the organization's machines", true));
        group.Add(OrganizationCommand(global, "disable", "Stop automatic memory increases (memory already added stays)", false));
        group.Add(OrganizationCommand(global, "update", "Set the policy: --enabled or --enabled=false", enabled: null, withEnabledOption: true));
        return group;
    }

    /// <summary><c>dedalus organization</c>: the caller's organization.</summary>
    public static Command Organization(GlobalOptions global)
    {
        var organization = new Command("organization", "Settings of the organization the API key belongs to");
        organization.Add(ForOrganization(global));
        return organization;
    }

    private static Option<bool> EnabledOption() => new("--enabled")
    {
        Description = "Turn autoresizing on (--enabled, --enabled=true) or off (--enabled=false) (required)",
    };

    /// <summary>A bool option's default would satisfy Required: <c>update</c> without <c>--enabled</c> must not mean "off".</summary>
    private static void RequireEnabled(Command command, Option<bool> enabled) =>
        command.Validators.Add(result =>
        {
            if (result.GetResult(enabled) is not { Implicit: false })
            {
                result.AddError("missing --enabled: pass --enabled to turn autoresizing on, --enabled=false to turn it off (or use enable, disable)");
            }
        });

    private static Command MachineCommand(GlobalOptions global, string name, string description, bool? enabled, bool withEnabledOption = false)
    {
        var target = new MachineTarget();
        var enabledOption = withEnabledOption ? EnabledOption() : null;
        var command = new Command(name, description);
        target.AddTo(command);
        if (enabledOption is not null)
        {
            command.Add(enabledOption);
            RequireEnabled(command, enabledOption);
        }

        command.SetAction((parseResult, _) => CommandRunner.RunAsync(async ct =>
        {
            using var client = global.CreateClient(parseResult);
            var machine = target.Get(parseResult);
            var value = enabledOption is not null ? parseResult.GetValue(enabledOption) : enabled;
            var settings = value is { } on
                ? await client.Machines.Autoresizing.SetAsync(machine, on, ct)
                : await client.Machines.Autoresizing.GetAsync(machine, ct);
            return global.Print(parseResult, settings, DedalusJsonContext.Default.AutoresizingSettings);
        }));
        return command;
    }

    private static Command OrganizationCommand(GlobalOptions global, string name, string description, bool? enabled, bool withEnabledOption = false)
    {
        var enabledOption = withEnabledOption ? EnabledOption() : null;
        var command = new Command(name, description);
        if (enabledOption is not null)
        {
            command.Add(enabledOption);
            RequireEnabled(command, enabledOption);
        }

        command.SetAction((parseResult, _) => CommandRunner.RunAsync(async ct =>
        {
            using var client = global.CreateClient(parseResult);
            var value = enabledOption is not null ? parseResult.GetValue(enabledOption) : enabled;
            AutoresizingSettings settings = value is { } on
                ? await client.Organization.Autoresizing.SetAsync(on, ct)
                : await client.Organization.Autoresizing.GetAsync(ct);
            return global.Print(parseResult, settings, DedalusJsonContext.Default.AutoresizingSettings);
        }));
        return command;
    }
}
