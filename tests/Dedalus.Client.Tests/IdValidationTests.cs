using System.Reflection;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;

namespace Dedalus.Client.Tests;

/// <summary>
/// Issue #10, point 1, in the SDK: an id that is not in its format is refused before any request (System.Uri would
/// remove a <c>..</c>, so <c>DeleteAsync(m, "..")</c> became <c>DELETE /v1/machines/{m}</c>). Every public method with a
/// <c>machineId</c> or <c>sessionId</c> is found by reflection, so a new one is checked too.
/// </summary>
public sealed class IdValidationTests
{
    private const string SessionId = "ss-0123456789abcdef0123456789abcdef01234567";
    private const string ExecutionId = ExecutionSamples.ExecutionId;

    /// <summary>
    /// Neither a machine id nor a machine name (names take any text but '/', control characters, blank ends, '.' and
    /// '..', so "dm-nope" or "%2e%2e" go to the server as names, percent-encoded: see ParityTests).
    /// </summary>
    public static TheoryData<string> BadMachineIds =>
    [
        "..", ".", Samples.MachineId + "/..", Samples.MachineId + "/../..", "../" + Samples.MachineId, "a/b",
        Samples.MachineId + "\0", "web\n", " web", "web ", new string('w', MachineNames.MaxLength + 1), string.Empty, "   ",
    ];

    public static TheoryData<string> BadSessionIds =>
    [
        "..", ".", "%2e%2e", ".%2e", "a/b", "../x", "a\\b", "a%2fb", "a;b", "a?b", "a#b", "ss-1 ", " ss-1", "ss-é", "ss-\0", "ss-\n1",
        string.Empty, new string('a', SshSessionIds.MaxLength + 1),
    ];

    [Theory]
    [MemberData(nameof(BadMachineIds))]
    public async Task A_bad_machine_id_is_an_argument_error_naming_the_format_in_every_method_and_nothing_is_sent(string machineId)
    {
        await using var api = await AnswerAnythingAsync();
        using var client = api.CreateClient(maxRetries: 0);

        foreach (var (name, call) in Calls(client, machineId, SessionId, ExecutionId))
        {
            var error = await Assert.ThrowsAsync<ArgumentException>(call);
            Assert.True(error.ParamName == "machineId", $"{name}: {error.ParamName}");
            Assert.Contains("is neither a machine id (dm-<uuid> or the bare uuid) nor a machine name", error.Message, StringComparison.Ordinal);
        }

        Assert.Empty(api.Requests);
    }

    [Theory]
    [MemberData(nameof(BadSessionIds))]
    public async Task A_bad_session_id_is_an_argument_error_naming_the_format_and_nothing_is_sent(string sessionId)
    {
        await using var api = await AnswerAnythingAsync();
        using var client = api.CreateClient(maxRetries: 0);

        var calls = Calls(client, Samples.MachineId, sessionId, ExecutionId).Where(c => c.Name.Contains("sessionId", StringComparison.Ordinal)).ToList();
        Assert.Equal(2, calls.Count); // retrieve and delete
        foreach (var (name, call) in calls)
        {
            var error = await Assert.ThrowsAsync<ArgumentException>(call);
            Assert.True(error.ParamName == "sessionId", $"{name}: {error.ParamName}");
            Assert.Contains("is not an ssh session id: pass a session's session_id, ss-<hex>", error.Message, StringComparison.Ordinal);
            Assert.DoesNotContain('\n', error.Message);
        }

        Assert.Empty(api.Requests);
    }

    [Theory]
    [MemberData(nameof(BadSessionIds))]
    public async Task A_bad_execution_id_is_an_argument_error_naming_the_format_in_every_method_and_nothing_is_sent(string executionId)
    {
        await using var api = await AnswerAnythingAsync();
        using var client = api.CreateClient(maxRetries: 0);

        var calls = Calls(client, Samples.MachineId, SessionId, executionId).Where(c => c.Name.Contains("executionId", StringComparison.Ordinal)).ToList();
        Assert.Equal(8, calls.Count); // get, cancel, output, events (page and follow), logs, reauthorize, token
        foreach (var (name, call) in calls)
        {
            var error = await Assert.ThrowsAsync<ArgumentException>(call);
            Assert.True(error.ParamName == "executionId", $"{name}: {error.ParamName}");
            Assert.Contains("is not an execution id: pass an execution's execution_id, ex-<hex>", error.Message, StringComparison.Ordinal);
            Assert.DoesNotContain('\n', error.Message);
        }

        Assert.Empty(api.Requests);
    }

    [Fact]
    public async Task The_cli_case_from_the_issue_deletes_nothing()
    {
        await using var api = await AnswerAnythingAsync();
        using var client = api.CreateClient(maxRetries: 0);

        await Assert.ThrowsAsync<ArgumentException>(() => client.Machines.Ssh.DeleteAsync(Samples.MachineId, ".."));

        Assert.Empty(api.Requests);
    }

    [Theory]
    [InlineData("ssh-1")]
    [InlineData(SessionId)]
    [InlineData("0b9f6c1e-4a5d-4c3b-9e2f-1a2b3c4d5e6f")] // other DCS servers' session ids are UUIDs
    [InlineData("sess_ABC-123")]
    public async Task A_session_id_of_the_shape_is_sent_as_one_path_segment(string sessionId)
    {
        await using var api = await AnswerAnythingAsync();
        using var client = api.CreateClient(maxRetries: 0);

        await client.Machines.Ssh.RetrieveAsync(Samples.MachineId, sessionId);

        Assert.Equal($"/v1/machines/{Samples.MachineId}/ssh/{sessionId}", Assert.Single(api.Requests).PathAndQuery);
    }

    [Fact]
    public async Task A_cursor_is_escaped_as_one_query_value()
    {
        await using var api = await AnswerAnythingAsync();
        using var client = api.CreateClient(maxRetries: 0);

        await client.Machines.Ssh.ListPageAsync(Samples.MachineId, 5, "a/../b&limit=1#x");

        Assert.Equal($"/v1/machines/{Samples.MachineId}/ssh?limit=5&cursor=a%2F..%2Fb%26limit%3D1%23x", Assert.Single(api.Requests).PathAndQuery);
    }

    [Theory]
    [InlineData("7\r\nX-Injected: 1")]
    [InlineData("7\n")]
    [InlineData("7\0")]
    public async Task A_last_event_id_that_would_break_its_header_is_refused_before_sending(string lastEventId)
    {
        await using var api = await AnswerAnythingAsync();
        using var client = api.CreateClient(maxRetries: 0);

        var error = Assert.Throws<ArgumentException>(() => client.Machines.WatchAsync(Samples.MachineId, lastEventId));

        Assert.Equal("lastEventId", error.ParamName);
        Assert.Empty(api.Requests);
    }

    /// <summary>
    /// Every public method of the machines, sessions and executions resources that takes a <c>machineId</c>, called with
    /// <paramref name="machineId"/>, <paramref name="sessionId"/>, <paramref name="executionId"/> and harmless other
    /// arguments; an enumeration is enumerated. The name lists the id parameters it takes.
    /// </summary>
    private static List<(string Name, Func<Task> Call)> Calls(DedalusClient client, string machineId, string sessionId, string executionId)
    {
        var calls = new List<(string, Func<Task>)>();
        foreach (var target in new object[] { client.Machines, client.Machines.Ssh, client.Machines.Executions, client.Machines.Autoresizing })
        {
            foreach (var method in target.GetType().GetMethods(BindingFlags.Public | BindingFlags.Instance | BindingFlags.DeclaredOnly))
            {
                var parameters = method.GetParameters();
                if (!parameters.Any(p => p.Name == "machineId"))
                {
                    continue;
                }

                var arguments = parameters.Select(p => p.Name switch
                {
                    "machineId" => machineId,
                    "sessionId" => sessionId,
                    "executionId" => executionId,
                    "request" when p.ParameterType == typeof(CreateExecutionRequest) => new CreateExecutionRequest(["true"]),
                    "enabled" => true,
                    "publicKey" => "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIG8ZQqPw9A4TFdVbpgJMyZUh8SzikCLb8SeCni+2eEK2",
                    "request" when p.ParameterType == typeof(UpdateMachineRequest) => new UpdateMachineRequest(Vcpu: 2),
                    _ when p.ParameterType == typeof(CancellationToken) => CancellationToken.None,
                    _ when p.HasDefaultValue => p.DefaultValue,
                    _ => throw new InvalidOperationException($"{method.Name}: tell this test a harmless value for {p.Name}"),
                }).ToArray();
                var name = $"{method.Name}({string.Join(", ", parameters.Select(p => p.Name))})";
                calls.Add((name, () => Invoke(method, target, arguments)));
            }
        }

        Assert.True(calls.Count >= 23, string.Join(", ", calls.Select(c => c.Item1)));
        return calls;
    }

    private static async Task Invoke(MethodInfo method, object target, object?[] arguments)
    {
        object? result;
        try
        {
            result = method.Invoke(target, arguments);
        }
        catch (TargetInvocationException e) when (e.InnerException is not null)
        {
            throw e.InnerException;
        }

        switch (result)
        {
            case Task task:
                await task;
                break;
            case IAsyncEnumerable<Machine> machines:
                await foreach (var _ in machines)
                {
                }

                break;
            case IAsyncEnumerable<SshSession> sessions:
                await foreach (var _ in sessions)
                {
                }

                break;
            case IAsyncEnumerable<Execution> executions:
                await foreach (var _ in executions)
                {
                }

                break;
            case IAsyncEnumerable<ExecutionEvent> events:
                await foreach (var _ in events)
                {
                }

                break;
            default:
                throw new InvalidOperationException($"{method.Name} returns {method.ReturnType}: tell this test how to run it");
        }
    }

    /// <summary>A stub that records every request and answers any of them with a session (so a request that got through would succeed).</summary>
    private static Task<StubApi> AnswerAnythingAsync() =>
        StubApi.StartAsync(app => app.Map("/{**path}", (HttpContext context) => Wire.Json(Samples.Session(SshSessionStatuses.Ready))));
}
