namespace Dedalus.Machines.Runtime;

/// <summary>A process running inside a machine, with its standard streams.</summary>
public interface IMachineProcess : IAsyncDisposable
{
    /// <summary>Write side of the process's stdin; dispose to close it.</summary>
    Stream StandardInput { get; }

    /// <summary>The process's stdout.</summary>
    Stream StandardOutput { get; }

    /// <summary>The process's stderr.</summary>
    Stream StandardError { get; }

    /// <summary>Completes with the exit code when the process ends.</summary>
    Task<int> Exited { get; }

    /// <summary>Kills the process (and what it started) at once.</summary>
    void Kill();
}
