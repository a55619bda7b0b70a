using Dedalus.Gateway.Bench;

// Usage: dotnet run -c Release --project bench/Dedalus.Gateway.Bench -- [latency] [scp] [idle] [--runs N] [--mib N] [--idle N]
return await GatewayBench.RunAsync(args);
