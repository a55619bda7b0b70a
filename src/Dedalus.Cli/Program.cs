using Dedalus.Cli;

return await DedalusCli.RunAsync(args);
