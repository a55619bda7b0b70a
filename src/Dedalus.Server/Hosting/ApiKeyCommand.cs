using System.CommandLine;
using Dedalus.Server.Auth;

namespace Dedalus.Server.Hosting;

/// <summary><c>dedalus-server apikey create [--data-dir DIR | --database URL] --org NAME</c>: prints a new API key once.</summary>
public static class ApiKeyCommand
{
    public static Command Create(TextWriter error)
    {
        var dataDirectory = new Option<string?>("--data-dir")
        {
            Description = "The server's data directory (env DEDALUS_DATA_DIR) [default: " + ServerConfiguration.DefaultDataDirectory() + "]",
            HelpName = "DIR",
        };
        var database = StoreFactory.DatabaseOption();
        var org = new Option<string>("--org") { Description = "Org name; created if new, else the key is added to it", HelpName = "NAME", Required = true };
        var create = new Command("create", "Create an API key for an org (creating the org) and print it once on stdout") { dataDirectory, database, org };
        create.SetAction(async (parseResult, cancellationToken) =>
        {
            var directory = Path.GetFullPath(parseResult.GetValue(dataDirectory)
                ?? (Environment.GetEnvironmentVariable("DEDALUS_DATA_DIR") is { Length: > 0 } fromEnvironment ? fromEnvironment : ServerConfiguration.DefaultDataDirectory()));
            var orgName = parseResult.GetValue(org)!.Trim();
            if (orgName.Length is 0 or > 128 || orgName.Any(char.IsControl))
            {
                return ServerCommand.Usage(error, "--org must be a name of 1 to 128 printable characters", "apikey create");
            }

            var (store, exitCode) = await StoreFactory.OpenForCommandAsync(parseResult.GetValue(database), directory, error, "apikey create", cancellationToken).ConfigureAwait(false);
            if (store is null)
            {
                return exitCode;
            }

            string key, orgId;
            try
            {
                (key, orgId) = await new ApiKeys(store, TimeProvider.System).CreateAsync(orgName, cancellationToken).ConfigureAwait(false);
            }
            finally
            {
                await StoreFactory.CloseAsync(store).ConfigureAwait(false);
            }

            await parseResult.InvocationConfiguration.Output.WriteLineAsync(key).ConfigureAwait(false);
            await error.WriteLineAsync($"org {orgName} ({orgId}): store this key now, it is not shown again").ConfigureAwait(false);
            return ServerCommand.ExitOk;
        });

        return new Command("apikey", "Manage API keys (the server may be running)") { create };
    }
}
