using Dedalus.Server.Hosting;

return await ServerCommand.RunAsync(args);
