using System.Text;
using Dedalus.Server.Console.Terminal;
using Dedalus.Testing;

namespace Dedalus.Server.Tests.Terminal;

/// <summary>The pseudo-terminal wrapper with a real <c>/bin/sh</c> on it: a tty, its size, and a clean end.</summary>
public sealed class PseudoTerminalTests
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task A_shell_on_the_terminal_sees_a_tty_and_answers_what_is_typed()
    {
        using var pty = PseudoTerminal.Open(80, 24);
        pty.Start("/bin/sh", [], new Dictionary<string, string?> { ["PS1"] = "$ ", ["TERM"] = "xterm-256color" });
        var output = new OutputReader(pty);

        await TypeAsync(pty, "test -t 0 && test -t 1 && echo tty-$((6*7)) $TERM\n");
        Assert.True(await output.WaitForAsync("tty-42 xterm-256color"), output.Text);

        // The slave is the shell's controlling terminal: /dev/tty opens.
        await TypeAsync(pty, "echo ctty > /dev/tty && echo ctty-ok\n");
        Assert.True(await output.WaitForAsync("ctty-ok"), output.Text);
    }

    [Fact]
    public async Task A_resize_is_what_stty_reports()
    {
        using var pty = PseudoTerminal.Open(80, 24);
        pty.Start("/bin/sh", [], new Dictionary<string, string?> { ["PS1"] = "$ " });
        var output = new OutputReader(pty);

        await TypeAsync(pty, "stty size\n");
        Assert.True(await output.WaitForAsync("24 80"), output.Text);
        pty.Resize(132, 50);
        await TypeAsync(pty, "stty size\n");
        Assert.True(await output.WaitForAsync("50 132"), output.Text);
    }

    [Fact]
    public async Task Ctrl_c_on_the_terminal_interrupts_the_foreground_command_and_not_the_shell()
    {
        using var pty = PseudoTerminal.Open(80, 24);
        var shell = pty.Start("/bin/sh", [], new Dictionary<string, string?> { ["PS1"] = "$ " });
        var output = new OutputReader(pty);

        await TypeAsync(pty, "sleep 100; echo after-sleep\n");
        await Task.Delay(200);
        await TypeAsync(pty, "\u0003");
        await TypeAsync(pty, "echo still-$((1+1))\n");
        Assert.True(await output.WaitForAsync("still-2"), output.Text);
        Assert.False(shell.HasExited);
    }

    [Fact]
    public async Task Disposing_kills_the_whole_process_group_reaps_it_and_leaks_no_descriptor()
    {
        int shellPid;
        string slavePath;
        using (var pty = PseudoTerminal.Open(80, 24))
        {
            slavePath = pty.SlavePath;
            var shell = pty.Start("/bin/sh", [], new Dictionary<string, string?> { ["PS1"] = "$ " });
            shellPid = shell.Id;
            var output = new OutputReader(pty);

            // A child in the background, in the shell's session: it must die with it.
            await TypeAsync(pty, "sleep 300 & echo started-$!\n");
            Assert.True(await output.WaitForAsync("started-"), output.Text);
            Assert.NotEmpty(InSession(shellPid));
            Assert.Equal(2, DescriptorsOf(slavePath).Count); // the master and the held slave
        }

        Assert.True(await Eventually.TrueAsync(() => InSession(shellPid).Count == 0, Bound), string.Join(",", InSession(shellPid)));
        Assert.False(File.Exists($"/proc/{shellPid}/stat"), "the shell is still there (a zombie?)");

        // Other tests open terminals in this process meanwhile: look for this one's descriptors only.
        Assert.True(await Eventually.TrueAsync(() => DescriptorsOf(slavePath).Count == 0, Bound), string.Join(",", DescriptorsOf(slavePath)));
    }

    /// <summary>
    /// This process's descriptors of the terminal <paramref name="slavePath"/>: the slave (by its link) and the master
    /// (a /dev/ptmx whose fdinfo names the same tty index).
    /// </summary>
    private static List<string> DescriptorsOf(string slavePath)
    {
        var index = Path.GetFileName(slavePath);
        var found = new List<string>();
        foreach (var fd in Directory.EnumerateFiles("/proc/self/fd"))
        {
            try
            {
                var target = new FileInfo(fd).LinkTarget;
                if (target == slavePath)
                {
                    found.Add(fd + " -> " + target);
                }
                else if (target is not null && target.EndsWith("ptmx", StringComparison.Ordinal) && File.ReadAllLines(fd.Replace("/fd/", "/fdinfo/", StringComparison.Ordinal)).Any(l => l.Replace(" ", "", StringComparison.Ordinal).Replace("\t", "", StringComparison.Ordinal) == "tty-index:" + index))
                {
                    found.Add(fd + " -> ptmx " + index);
                }
            }
            catch (IOException)
            {
            }
        }

        return found;
    }

    [Fact]
    public async Task The_terminal_turns_raw_when_the_program_asks_for_it()
    {
        using var pty = PseudoTerminal.Open(80, 24);
        pty.Start("/bin/sh", [], new Dictionary<string, string?> { ["PS1"] = "$ " });
        var output = new OutputReader(pty);
        Assert.False(pty.IsRaw);

        await TypeAsync(pty, "stty raw -echo; echo raw-now\n");
        Assert.True(await output.WaitForAsync("raw-now"), output.Text);
        Assert.True(await Eventually.TrueAsync(() => pty.IsRaw, Bound));
    }

    [Fact]
    public void Out_of_range_sizes_are_refused()
    {
        using var pty = PseudoTerminal.Open(80, 24);
        Assert.Throws<ArgumentOutOfRangeException>(() => pty.Resize(0, 24));
        Assert.Throws<ArgumentOutOfRangeException>(() => pty.Resize(80, 70000));
    }

    private static async Task TypeAsync(PseudoTerminal pty, string text)
    {
        await pty.Master.WriteAsync(Encoding.UTF8.GetBytes(text));
        await pty.Master.FlushAsync();
    }

    /// <summary>Processes whose session is <paramref name="sessionId"/> (read from /proc/PID/stat, field 6).</summary>
    private static List<int> InSession(int sessionId)
    {
        var found = new List<int>();
        foreach (var directory in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(directory), out var pid))
            {
                continue;
            }

            try
            {
                var stat = File.ReadAllText(Path.Combine(directory, "stat"));
                var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
                if (fields.Length > 3 && fields[3] == sessionId.ToString(System.Globalization.CultureInfo.InvariantCulture))
                {
                    found.Add(pid);
                }
            }
            catch (IOException)
            {
            }
        }

        return found;
    }

    /// <summary>Reads the master on a thread into a growing text, for waits on what appeared.</summary>
    private sealed class OutputReader
    {
        private readonly StringBuilder _text = new();

        public OutputReader(PseudoTerminal pty)
        {
            var thread = new Thread(() =>
            {
                var buffer = new byte[4096];
                try
                {
                    int read;
                    while ((read = pty.Master.Read(buffer)) > 0)
                    {
                        lock (_text)
                        {
                            _text.Append(Encoding.UTF8.GetString(buffer, 0, read));
                        }
                    }
                }
                catch (Exception e) when (e is IOException or ObjectDisposedException)
                {
                }
            })
            { IsBackground = true };
            thread.Start();
        }

        public string Text
        {
            get
            {
                lock (_text)
                {
                    return _text.ToString();
                }
            }
        }

        public Task<bool> WaitForAsync(string text) => Eventually.TrueAsync(() => Text.Contains(text, StringComparison.Ordinal), Bound);
    }
}
