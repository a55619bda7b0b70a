using Dedalus.Gateway.Bench;

// Usage: dotnet run -c Release --project bench/Dedalus.Gateway.Bench -- [latency] [scp] [idle] [--runs N] [--mib N] [--idle N]
//        (host sshd; against a plain sshd -D)
//    or: dotnet run -c Release --project bench/Dedalus.Gateway.Bench -- runc [latency] [wake] [scp] [idle] [--runs N] [--wake-runs N] [--mib N] [--idle N]
//        (a real runc machine; against the same sshd -i reached by runc exec without the gateway; needs root)
return args.Contains("runc") ? await RuncBench.RunAsync(args) : await GatewayBench.RunAsync(args);
