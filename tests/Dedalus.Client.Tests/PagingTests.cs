using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;

namespace Dedalus.Client.Tests;

public sealed class PagingTests
{
    [Fact]
    public async Task Listing_follows_cursors_across_pages()
    {
        await using var api = await StubApi.StartAsync(app => app.MapGet("/v1/machines", (string? cursor, int? limit) => cursor switch
        {
            null => Wire.Json(new MachineList([Samples.Machine("dm-1"), Samples.Machine("dm-2")], "c2")),
            "c2" => Wire.Json(new MachineList([Samples.Machine("dm-3"), Samples.Machine("dm-4")], "c3")),
            "c3" => Wire.Json(new MachineList([Samples.Machine("dm-5")])),
            _ => Results.StatusCode(500),
        }));
        using var client = api.CreateClient();

        var ids = new List<string>();
        await foreach (var machine in client.Machines.ListAsync(limit: 2))
        {
            ids.Add(machine.MachineId);
        }

        Assert.Equal(["dm-1", "dm-2", "dm-3", "dm-4", "dm-5"], ids);
        Assert.Equal(["/v1/machines?limit=2", "/v1/machines?limit=2&cursor=c2", "/v1/machines?limit=2&cursor=c3"], api.Requests.Select(r => r.PathAndQuery));
    }

    [Fact]
    public async Task Listing_stops_on_a_repeated_cursor()
    {
        await using var api = await StubApi.StartAsync(app => app.MapGet("/v1/machines", (string? cursor) =>
            Wire.Json(new MachineList([Samples.Machine(cursor ?? "first")], "same"))));
        using var client = api.CreateClient();

        var count = 0;
        await foreach (var _ in client.Machines.ListAsync())
        {
            count++;
        }

        Assert.Equal(2, count);
        Assert.Equal(2, api.Requests.Count);
    }

    [Fact]
    public async Task Listing_stops_on_an_empty_page_even_with_a_cursor()
    {
        await using var api = await StubApi.StartAsync(app => app.MapGet("/v1/machines/{id}/ssh", (string? cursor) => cursor is null
            ? Wire.Json(new SshSessionList([Samples.Session("ready")], "next"))
            : Wire.Json(new SshSessionList([], "more"))));
        using var client = api.CreateClient();

        var sessions = new List<SshSession>();
        await foreach (var session in client.Machines.Ssh.ListAsync(Samples.MachineId))
        {
            sessions.Add(session);
        }

        Assert.Single(sessions);
        Assert.Equal(2, api.Requests.Count);
    }

    [Fact]
    public async Task A_null_items_array_ends_the_listing()
    {
        await using var api = await StubApi.StartAsync(app => app.MapGet("/v1/machines", () => Results.Text("{\"items\":null}", "application/json")));
        using var client = api.CreateClient();

        var count = 0;
        await foreach (var _ in client.Machines.ListAsync())
        {
            count++;
        }

        Assert.Equal(0, count);
    }
}
