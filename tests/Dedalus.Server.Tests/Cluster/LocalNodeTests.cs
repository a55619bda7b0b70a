using Dedalus.Contracts;
using Dedalus.Server.Cluster;
using Dedalus.Server.Store;
using Dedalus.Server.Tests.Infrastructure;

namespace Dedalus.Server.Tests.Cluster;

/// <summary>A single server is one node of its store: registered, owning its machines, the same node after a restart.</summary>
public sealed class LocalNodeTests : ServerTestBase
{
    [Fact]
    public async Task The_server_registers_as_a_node_whose_id_survives_a_restart_and_owns_the_machines_it_creates()
    {
        var node = Server.Service<LocalNode>();
        var path = Path.Combine(Data.Path, "node_id");
        Assert.Equal(node.Id + "\n", await File.ReadAllTextAsync(path));
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(path));

        var machine = await Api.CreateRunningMachineAsync();
        var stored = await Server.Service<IStore>().GetMachineAsync(MachineIds.Format(Guid.Parse(machine.MachineId)));
        Assert.Equal(node.Id, stored!.NodeId);
        var registered = Assert.Single(await Server.Service<IStore>().ListNodesAsync());
        Assert.Equal(node.Id, registered.Id);
        Assert.Equal(Server.Service<Dedalus.Server.Hosting.ServerOptions>().GatewayHost, registered.GatewayHosts);
        Assert.True(registered.Vcpu > 0 && registered.MemoryMib > 0);

        await RestartServerAsync();

        Assert.Equal(node.Id, Server.Service<LocalNode>().Id);
        Assert.Equal(MachinePhases.Running, (await Api.WaitForPhaseAsync(machine.MachineId, MachinePhases.Running)).Phase);
    }

    [Fact]
    public void A_node_id_file_that_holds_something_else_is_refused_with_what_to_do()
    {
        using var data = new Dedalus.Testing.TempDirectory();
        File.WriteAllText(Path.Combine(data.Path, "node_id"), "not-a-node\n");

        var refusal = Assert.Throws<InvalidDataException>(() => LocalNode.LoadOrCreate(data.Path));

        Assert.Contains("does not hold a node id", refusal.Message, StringComparison.Ordinal);
    }
}
