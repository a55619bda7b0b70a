using System.Security.Cryptography;
using System.Text;
using Dedalus.Contracts;
using Dedalus.Server.Executions;
using Dedalus.Server.Ssh;
using Dedalus.Server.Store;

namespace Dedalus.Server.Tests.Executions;

/// <summary>The sealed input of an execution handed to another node: it opens whole, for its execution, with its cluster's secret only.</summary>
public sealed class ExecutionInputSealTests
{
    private static readonly ServerSecret Secret = new(RandomNumberGenerator.GetBytes(32));

    [Fact]
    public void A_sealed_input_opens_to_the_same_env_stdin_and_cwd_with_command_and_timeout_from_the_row()
    {
        var seal = new ExecutionInputSeal(Secret);
        var execution = Execution();
        var stdin = new byte[70_000];
        Random.Shared.NextBytes(stdin);
        var input = new ExecutionInput(execution.Command, "/tmp/work dir", new Dictionary<string, string> { ["TOKEN"] = "s3cret=é\n", ["EMPTY"] = "" }, stdin, execution.TimeoutMs);

        var sealedInput = seal.Seal(execution.Id, input);
        var opened = new ExecutionInputSeal(Secret).Open(execution, sealedInput);

        Assert.NotNull(opened);
        Assert.Equal(execution.Command, opened.Command);
        Assert.Equal("/tmp/work dir", opened.Cwd);
        Assert.Equal(input.Env.OrderBy(e => e.Key), opened.Env.OrderBy(e => e.Key));
        Assert.Equal(stdin, opened.Stdin);
        Assert.Equal(execution.TimeoutMs, opened.TimeoutMs);

        // Nothing of the input shows in the sealed bytes.
        Assert.DoesNotContain("s3cret", Encoding.Latin1.GetString(sealedInput), StringComparison.Ordinal);
    }

    [Fact]
    public void An_input_without_cwd_env_or_stdin_opens_as_such()
    {
        var seal = new ExecutionInputSeal(Secret);
        var execution = Execution();

        var opened = seal.Open(execution, seal.Seal(execution.Id, new ExecutionInput(execution.Command, null, new Dictionary<string, string>(), [], 5)));

        Assert.NotNull(opened);
        Assert.Null(opened.Cwd);
        Assert.Empty(opened.Env);
        Assert.Empty(opened.Stdin);
    }

    [Fact]
    public void A_sealed_input_does_not_open_for_another_execution_with_another_secret_or_once_altered()
    {
        var seal = new ExecutionInputSeal(Secret);
        var execution = Execution();
        var sealedInput = seal.Seal(execution.Id, new ExecutionInput(execution.Command, null, new Dictionary<string, string> { ["A"] = "b" }, "in"u8.ToArray(), 5));

        Assert.Null(seal.Open(Execution(), sealedInput));
        Assert.Null(new ExecutionInputSeal(new ServerSecret(RandomNumberGenerator.GetBytes(32))).Open(execution, sealedInput));
        for (var i = 0; i < sealedInput.Length; i++)
        {
            var altered = (byte[])sealedInput.Clone();
            altered[i] ^= 0x01;
            Assert.Null(seal.Open(execution, altered));
        }

        Assert.Null(seal.Open(execution, sealedInput.AsSpan(0, 20)));
        Assert.Null(seal.Open(execution, []));
    }

    [Fact]
    public void Two_seals_of_the_same_input_differ_and_the_key_is_not_the_log_token_key()
    {
        var seal = new ExecutionInputSeal(Secret);
        var execution = Execution();
        var input = new ExecutionInput(execution.Command, null, new Dictionary<string, string>(), "x"u8.ToArray(), 5);

        Assert.NotEqual(seal.Seal(execution.Id, input), seal.Seal(execution.Id, input));
        Assert.NotEqual(Secret.Derive(ExecutionInputSeal.Purpose), Secret.Derive("execution log read token"));
    }

    private static ExecutionRecord Execution() => new()
    {
        Id = ExecutionIds.New(),
        OrgId = "org-1",
        MachineId = "m-1",
        Status = ExecutionStatuses.Queued,
        Command = ["cat", "-"],
        EnvKeys = [],
        TimeoutMs = 1234,
        Runner = "",
        StreamId = ExecutionIds.NewStream(),
        CreatedAt = DateTimeOffset.UnixEpoch,
    };
}
