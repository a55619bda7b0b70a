using System.Diagnostics;
using Dedalus.Machines.Runtime;

namespace Dedalus.Gateway.Tests.Infrastructure;

/// <summary>A host process behind the <see cref="IMachineProcess"/> contract.</summary>
public sealed class HostMachineProcess : IMachineProcess
{
    private readonly Process _process;

    public HostMachineProcess(Process process)
    {
        _process = process;
        Exited = WaitAsync(process);
    }

    public int ProcessId => _process.Id;

    public Stream StandardInput => _process.StandardInput.BaseStream;

    public Stream StandardOutput => _process.StandardOutput.BaseStream;

    public Stream StandardError => _process.StandardError.BaseStream;

    public Task<int> Exited { get; }

    /// <summary>
    /// Kills sshd and every descendant (the session's shell and commands). Descendants come from
    /// /proc/PID/task/TID/children, which is far cheaper than scanning every process when hundreds run.
    /// </summary>
    public void Kill()
    {
        try
        {
            var descendants = new List<int>();
            if (!TryCollectDescendants(_process.Id, descendants))
            {
                _process.Kill(entireProcessTree: true);
                return;
            }

            _process.Kill();
            foreach (var pid in descendants)
            {
                try
                {
                    using var child = Process.GetProcessById(pid);
                    child.Kill();
                }
                catch (ArgumentException)
                {
                }
                catch (InvalidOperationException)
                {
                }
            }
        }
        catch (InvalidOperationException)
        {
        }
    }

    private static bool TryCollectDescendants(int pid, List<int> descendants)
    {
        var tasks = $"/proc/{pid}/task";
        if (!Directory.Exists(tasks))
        {
            return Directory.Exists("/proc/self/task");
        }

        try
        {
            foreach (var task in Directory.EnumerateDirectories(tasks))
            {
                var childrenFile = Path.Combine(task, "children");
                if (!File.Exists(childrenFile))
                {
                    return false;
                }

                foreach (var part in File.ReadAllText(childrenFile).Split(' ', StringSplitOptions.RemoveEmptyEntries))
                {
                    var child = int.Parse(part, System.Globalization.CultureInfo.InvariantCulture);
                    descendants.Add(child);
                    TryCollectDescendants(child, descendants);
                }
            }
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }

        return true;
    }

    public async ValueTask DisposeAsync()
    {
        if (!Exited.IsCompleted)
        {
            Kill();
        }

        await Exited.WaitAsync(TimeSpan.FromSeconds(10)).ConfigureAwait(false);
        _process.Dispose();
    }

    private static async Task<int> WaitAsync(Process process)
    {
        await process.WaitForExitAsync().ConfigureAwait(false);
        return process.ExitCode;
    }
}
