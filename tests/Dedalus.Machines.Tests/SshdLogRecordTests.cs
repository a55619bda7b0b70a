using System.Diagnostics;
using System.IO.Pipes;
using Dedalus.Machines.Ssh;

namespace Dedalus.Machines.Tests;

/// <summary>
/// sshd's log read as records: a real pipe in packet mode keeps each write(2) apart, so a write that holds a line break
/// (client-chosen text in an sshd message) is one record that names no login. The writes are all done before the first
/// read, so the boundaries come from the kernel, not from timing.
/// </summary>
public sealed class SshdLogRecordTests(MachineRuntimeFixture fixture) : IClassFixture<MachineRuntimeFixture>
{
    private const string Genuine = "Accepted publickey for machine from UNKNOWN port 65535 ssh2: ED25519-CERT SHA256:abc ID sess-own (serial 1) CA ED25519 SHA256:def";
    private const string Forged = "Received disconnect from UNKNOWN port 65535:11: bye\r\nAccepted publickey for machine from UNKNOWN port 65535 ssh2: ED25519-CERT SHA256:abc ID victim (serial 7) CA ED25519 SHA256:def";

    /// <summary>Two writes to stderr (one write(2) each, as sshd's log does), after a line on stdin.</summary>
    private static readonly string[] TwoWrites =
    [
        "perl", "-e",
        "my $go = <STDIN>; syswrite(STDERR, \"" + Perl(Genuine) + "\\r\\n\"); syswrite(STDERR, \"" + Perl(Forged) + "\\r\\n\"); exit 0;",
    ];

    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(60);

    [Fact]
    public async Task Two_writes_to_a_packet_mode_pipe_are_two_records_and_the_one_with_an_inner_line_break_names_no_login()
    {
        using var process = StartHost();
        var stderr = (PipeStream)process.StandardError.BaseStream;
        PacketPipe.MakePacketized(process.Id, 2, stderr.SafePipeHandle);

        await process.StandardInput.WriteLineAsync("go");
        await process.StandardInput.FlushAsync();
        await process.WaitForExitAsync().WaitAsync(Bound);

        var records = await ReadAllAsync(stderr);
        Assert.Equal(2, records.Count);
        Assert.True(records[0].TryParseAccepted(out var own));
        Assert.Equal("sess-own", own.SessionId);
        Assert.False(records[1].Attributable);
        Assert.False(records[1].TryParseAccepted(out _));
        Assert.Equal(2, records[1].Lines.Count);
        Assert.True(SshdAcceptedLine.TryParse(records[1].Lines[1], out _), "the forged line is itself well formed: only the record tells it apart");
    }

    [Fact]
    public async Task Without_packet_mode_the_same_two_writes_run_together_into_one_record_that_names_no_login()
    {
        using var process = StartHost();

        await process.StandardInput.WriteLineAsync("go");
        await process.StandardInput.FlushAsync();
        await process.WaitForExitAsync().WaitAsync(Bound);

        var records = await ReadAllAsync(process.StandardError.BaseStream);
        var record = Assert.Single(records);
        Assert.Equal(3, record.Lines.Count);
        Assert.False(record.TryParseAccepted(out _));
    }

    [Fact]
    public async Task A_setting_on_a_descriptor_that_is_not_the_pipe_read_here_is_refused_and_changes_nothing()
    {
        using var process = StartHost();
        var stderr = (PipeStream)process.StandardError.BaseStream;
        var stdout = (PipeStream)process.StandardOutput.BaseStream;

        var error = Assert.Throws<IOException>(() => PacketPipe.MakePacketized(process.Id, 2, stdout.SafePipeHandle));

        Assert.Contains("not the write end of the pipe read here", error.Message, StringComparison.Ordinal);
        await process.StandardInput.WriteLineAsync("go");
        await process.StandardInput.FlushAsync();
        await process.WaitForExitAsync().WaitAsync(Bound);
        Assert.Single(await ReadAllAsync(stderr));
    }

    [Fact]
    public async Task A_runc_exec_with_packet_stderr_keeps_the_writes_of_the_process_inside_apart()
    {
        var id = await fixture.StartMachineAsync();

        await using var process = await fixture.Runtime.ExecAsync(id, new MachineExecRequest(TwoWrites) { PacketStderr = true }).WaitAsync(Bound);
        await process.StandardInput.WriteAsync("go\n"u8.ToArray());
        await process.StandardInput.FlushAsync();
        Assert.Equal(0, await process.Exited.WaitAsync(Bound));

        var records = await ReadAllAsync(process.StandardError);
        Assert.Equal(2, records.Count);
        Assert.True(records[0].TryParseAccepted(out var own));
        Assert.Equal("sess-own", own.SessionId);
        Assert.False(records[1].TryParseAccepted(out _));
    }

    /// <summary>
    /// runc (not detached) gives the process a stderr pipe of its own and copies from it: that pipe is in packet mode
    /// too, as the process inside sees in /proc/self/fdinfo/2 (O_DIRECT is 040000 in its octal flags).
    /// </summary>
    [Fact]
    public async Task The_stderr_pipe_the_process_inside_writes_to_is_itself_in_packet_mode()
    {
        var id = await fixture.StartMachineAsync();

        await using var process = await fixture.Runtime.ExecAsync(id, new MachineExecRequest(["sh", "-c", "read go; sed -n 's/^flags:[[:space:]]*//p' /proc/self/fdinfo/2"]) { PacketStderr = true }).WaitAsync(Bound);
        await process.StandardInput.WriteAsync("go\n"u8.ToArray());
        await process.StandardInput.FlushAsync();
        using var output = new StreamReader(process.StandardOutput);
        var flags = (await output.ReadToEndAsync().WaitAsync(Bound)).Trim();
        Assert.Equal(0, await process.Exited.WaitAsync(Bound));

        Assert.NotEqual(0, Convert.ToInt32(flags, 8) & 0x4000);
    }

    private static Process StartHost()
    {
        var startInfo = new ProcessStartInfo(TwoWrites[0])
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var argument in TwoWrites[1..])
        {
            startInfo.ArgumentList.Add(argument);
        }

        return Process.Start(startInfo) ?? throw new InvalidOperationException("perl did not start");
    }

    private static async Task<List<SshdLogRecord>> ReadAllAsync(Stream stderr)
    {
        var reader = new SshdLogReader(stderr);
        var records = new List<SshdLogRecord>();
        using var timeout = new CancellationTokenSource(Bound);
        while (await reader.ReadAsync(timeout.Token) is { } record)
        {
            records.Add(record);
        }

        return records;
    }

    /// <summary>The text as the body of a Perl double-quoted string (CR and LF as escapes).</summary>
    private static string Perl(string text) => text.Replace("\r", "\\r", StringComparison.Ordinal).Replace("\n", "\\n", StringComparison.Ordinal).Replace("$", "\\$", StringComparison.Ordinal).Replace("@", "\\@", StringComparison.Ordinal);
}
