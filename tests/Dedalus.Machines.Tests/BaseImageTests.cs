using Dedalus.Machines.Images;

namespace Dedalus.Machines.Tests;

public sealed class BaseImageTests(MachineRuntimeFixture fixture) : IClassFixture<MachineRuntimeFixture>
{
    private readonly BaseImage _image = fixture.Runtime.BaseImage;

    [Fact]
    public async Task The_base_userland_is_owned_by_the_mapped_root_and_sudo_stays_setuid()
    {
        var rootfs = _image.RootFileSystem;

        var owners = await Tools.CheckedAsync("stat", "-c", "%u:%g %a", rootfs, Path.Combine(rootfs, "usr/bin/sudo"), Path.Combine(rootfs, "etc/sudoers"));

        Assert.Equal(["100000:100000 755", "100000:100000 4755", "100000:100000 440"], owners.StandardOutput.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.Contains("machine:*:", await File.ReadAllTextAsync(Path.Combine(rootfs, "etc/shadow")), StringComparison.Ordinal);
        Assert.Contains("machine:x:1000:1000::/home/machine:/bin/bash", await File.ReadAllTextAsync(Path.Combine(rootfs, "etc/passwd")), StringComparison.Ordinal);
        Assert.Empty(Directory.GetFiles(Path.Combine(rootfs, "etc/ssh"), "ssh_host_*"));
        Assert.True(File.Exists(Path.Combine(rootfs, "usr/bin/tini")));
    }

    [Fact]
    public async Task Ensuring_a_ready_base_returns_it_at_once_without_progress()
    {
        var messages = new List<string>();

        var path = await _image.EnsureAsync(new InlineProgress(messages)).WaitAsync(MachineRuntimeFixture.Timeout);

        Assert.Equal(_image.RootFileSystem, path);
        Assert.True(_image.IsReady);
        Assert.Empty(messages);
    }

    private sealed class InlineProgress(List<string> messages) : IProgress<string>
    {
        public void Report(string value) => messages.Add(value);
    }
}
