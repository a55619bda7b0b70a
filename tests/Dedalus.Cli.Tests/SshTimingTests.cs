using System.Diagnostics;
using Dedalus.Cli.Commands;

namespace Dedalus.Cli.Tests;

/// <summary>How <c>dedalus ssh --timing</c> reads ssh's -v lines and prints its phases. Pure.</summary>
public sealed class SshTimingTests
{
    [Theory]
    [InlineData("debug1: Connection established.", "TcpConnected")]
    [InlineData("debug1: Remote protocol version 2.0, remote software version OpenSSH_9.2p1 Debian-2+deb12u10", "ServerBanner")]
    [InlineData("debug1: SSH2_MSG_NEWKEYS received", "KeyExchangeDone")]
    [InlineData("Authenticated to 127.0.0.1 ([127.0.0.1]:2200) using \"publickey\".", "Authenticated")]
    public void Ssh_debug_lines_mark_its_phases(string line, string mark)
    {
        Assert.Equal(Enum.Parse<SshTiming.Mark>(mark), SshTiming.SshLineMark(line));
        Assert.True(SshTiming.IsVerboseLine(line));
    }

    [Theory]
    [InlineData("machine@127.0.0.1: Permission denied (publickey).")]
    [InlineData("Host key verification failed.")]
    [InlineData("remote stderr output")]
    public void Other_lines_are_not_verbose_output_and_are_shown(string line)
    {
        Assert.Null(SshTiming.SshLineMark(line));
        Assert.False(SshTiming.IsVerboseLine(line));
    }

    [Fact]
    public void Each_phase_runs_from_the_previous_mark_seen_and_a_missing_one_is_a_dash()
    {
        var timing = new SshTiming(new Stopwatch());
        timing.Set(SshTiming.Mark.KeyGenerated, TimeSpan.FromMilliseconds(3));
        timing.Set(SshTiming.Mark.SessionCreated, TimeSpan.FromMilliseconds(10));
        timing.Set(SshTiming.Mark.SessionReady, TimeSpan.FromMilliseconds(10));
        timing.Set(SshTiming.Mark.FilesWritten, TimeSpan.FromMilliseconds(11));
        timing.Set(SshTiming.Mark.SshStarted, TimeSpan.FromMilliseconds(13));
        timing.Set(SshTiming.Mark.TcpConnected, TimeSpan.FromMilliseconds(15));
        timing.Set(SshTiming.Mark.ServerBanner, TimeSpan.FromMilliseconds(55));
        timing.Set(SshTiming.Mark.KeyExchangeDone, TimeSpan.FromMilliseconds(155));
        timing.Set(SshTiming.Mark.KeyExchangeDone, TimeSpan.FromMilliseconds(999)); // the first occurrence counts
        timing.Set(SshTiming.Mark.Authenticated, TimeSpan.FromMilliseconds(200));
        timing.Set(SshTiming.Mark.SshExited, TimeSpan.FromMilliseconds(210));
        timing.Set(SshTiming.Mark.SessionClosed, TimeSpan.FromMilliseconds(212));
        timing.CloseMode = "detached";

        Assert.Equal(
            "timing: key 3 ms, create 7 ms, wake 0 ms, files 1 ms, ssh start 2 ms, tcp 2 ms, banner 40 ms, kex 100 ms, auth 45 ms, " +
            "first byte -, exit 10 ms, close 2 ms (detached), total 213 ms",
            timing.Format(TimeSpan.FromMilliseconds(213)));
    }

    [Fact]
    public void Identity_agent_none_is_left_out_when_the_agent_is_forwarded()
    {
        Assert.Contains("IdentityAgent=none", SshTuning.For(["-t"]));
        var forwarding = SshTuning.For(["-A"]);
        Assert.DoesNotContain("IdentityAgent=none", forwarding);
        Assert.Equal(SshTuning.Options.Count - 2, forwarding.Count);
        Assert.Equal("-o", forwarding[0]);
        Assert.DoesNotContain(SshTuning.Options, o => o.Contains("StrictHostKeyChecking", StringComparison.Ordinal) || o.Contains("KexAlgorithms", StringComparison.Ordinal));
    }
}
