namespace Dedalus.Machines.Tests;

/// <summary>Runs host tools and processes inside machines, always with a timeout.</summary>
public static class Tools
{
    public static readonly TimeSpan ExecTimeout = TimeSpan.FromSeconds(60);

    public static async Task<ProcessResult> CheckedAsync(string fileName, params string[] arguments)
    {
        var result = await ProcessRunner.RunAsync(fileName, arguments);
        Assert.True(result.ExitCode == 0, $"{fileName} {string.Join(' ', arguments)}: {result}");
        return result;
    }

    /// <summary>Runs argv inside a machine, feeds <paramref name="input"/>, collects stdout and stderr.</summary>
    public static async Task<ProcessResult> ExecAsync(
        IMachineRuntime runtime, string machineId, IReadOnlyList<string> arguments, string user = "root", string? input = null)
    {
        await using var process = await runtime.ExecAsync(machineId, new MachineExecRequest(arguments, user)).WaitAsync(ExecTimeout);
        using var cts = new CancellationTokenSource(ExecTimeout);
        var stdout = new StreamReader(process.StandardOutput).ReadToEndAsync(cts.Token);
        var stderr = new StreamReader(process.StandardError).ReadToEndAsync(cts.Token);
        if (input is not null)
        {
            await process.StandardInput.WriteAsync(System.Text.Encoding.UTF8.GetBytes(input), cts.Token);
        }

        await process.StandardInput.DisposeAsync();
        var exit = await process.Exited.WaitAsync(ExecTimeout);
        return new ProcessResult(exit, await stdout.WaitAsync(ExecTimeout), await stderr.WaitAsync(ExecTimeout));
    }

    public static Task<ProcessResult> BashAsync(IMachineRuntime runtime, string machineId, string script, string user = "root") =>
        ExecAsync(runtime, machineId, ["/bin/bash", "-c", script], user);

    public static async Task<string> BashCheckedAsync(IMachineRuntime runtime, string machineId, string script, string user = "root")
    {
        var result = await BashAsync(runtime, machineId, script, user);
        Assert.True(result.ExitCode == 0, $"{script}: {result}");
        return result.StandardOutput.Trim();
    }
}
