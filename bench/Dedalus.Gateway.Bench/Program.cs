using Dedalus.Gateway.Bench;

// Usage: dotnet run -c Release --project bench/Dedalus.Gateway.Bench -- [latency] [scp] [idle] [preauth] [--runs N] [--mib N] [--idle N] [--silent N] [--flood N]
//        (host sshd; against a plain sshd -D)
//    or: ... -- runc listening [--runs N] [--listening-mib N] [--listening-idle N] (inetd vs listening vs direct, machine with a network)
//    or: dotnet run -c Release --project bench/Dedalus.Gateway.Bench -- runc [latency] [wake] [scp] [idle] [preauth] [--runs N] [--wake-runs N] [--mib N] [--idle N] [--silent N] [--flood N]
//        (a real runc machine; against the same sshd -i reached by runc exec without the gateway; needs root)
//    (internal) Dedalus.Gateway.Bench hold PORT COUNT SOURCES MAX_SECONDS: the silent clients of "preauth", in a process of their own
if (args.Any(a => a is "-h" or "--help"))
{
    Console.WriteLine("""
        usage: Dedalus.Gateway.Bench [latency] [scp] [idle] [preauth] [--runs N] [--mib N] [--idle N] [--silent N] [--flood N]
                   the gateway in front of a host sshd, against the same sshd -D reached directly
               Dedalus.Gateway.Bench runc [latency] [wake] [scp] [idle] [preauth] [--runs N] [--wake-runs N] [--mib N] [--idle N] [--silent N] [--flood N]
                   the gateway in front of a real runc machine, against its sshd -i reached by runc exec (needs root)
        No part named runs them all. preauth: memory per silent unauthenticated connection (--silent of them held)
        and `ssh true` during a flood of --flood silent connections against without it.
        """);
    return 0;
}

return args.FirstOrDefault() == "hold" ? await SilentClients.HoldAsync(args)
    : args.Contains("runc") ? await RuncBench.RunAsync(args)
    : await GatewayBench.RunAsync(args);
