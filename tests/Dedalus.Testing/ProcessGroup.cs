namespace Dedalus.Testing;

/// <summary>The long-running processes a test or fixture started (clients held open); disposing kills each with its descendants.</summary>
public sealed class ProcessGroup : IAsyncDisposable
{
    private readonly List<TestProcess> _processes = [];
    private readonly Lock _lock = new();

    public TestProcess Start(string fileName, IEnumerable<string> arguments, bool drainOutput = false)
    {
        var process = TestProcess.Start(fileName, arguments, drainOutput: drainOutput);
        lock (_lock)
        {
            _processes.Add(process);
        }

        return process;
    }

    public async ValueTask DisposeAsync()
    {
        TestProcess[] processes;
        lock (_lock)
        {
            processes = [.. _processes];
            _processes.Clear();
        }

        await Task.WhenAll(processes.Select(p => p.DisposeAsync().AsTask()));
    }
}
