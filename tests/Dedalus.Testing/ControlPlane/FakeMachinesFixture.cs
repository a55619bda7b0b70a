using Xunit;

namespace Dedalus.Testing.ControlPlane;

/// <summary>One <see cref="FakeMachinesApi"/> (with its sshd) shared by the tests of a class.</summary>
public sealed class FakeMachinesFixture : IAsyncLifetime
{
    public FakeMachinesApi Fake { get; private set; } = null!;

    public async Task InitializeAsync() => Fake = await FakeMachinesApi.StartAsync();

    public async Task DisposeAsync() => await Fake.DisposeAsync();
}
