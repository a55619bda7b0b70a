using Dedalus.Server.Hosting;

// dedalus-server [--data-dir DIR] [--listen HOST:PORT] [--gateway-host NAME] [--gateway-ports LO-HI] [--runtime runc] [--dev]
// dedalus-server apikey create --data-dir DIR --org NAME
if (args.Length > 0 && args[0] == "apikey")
{
    return await ApiKeyCommand.RunAsync(args, Console.Out, Console.Error);
}

await ServerApp.RunAsync(args);
return 0;
