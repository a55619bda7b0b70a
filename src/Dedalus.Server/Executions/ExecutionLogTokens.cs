using System.Buffers.Text;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using Dedalus.Server.Hosting;
using Dedalus.Server.Ssh;
using Dedalus.Server.Store;

namespace Dedalus.Server.Executions;

/// <summary>
/// Read tokens of execution logs: <c>dlt1.</c> base64url(<c>execution id . stream id . epoch . expiry ms</c>) <c>.</c>
/// base64url(HMAC-SHA256). The key is derived from the server's own secret (<see cref="ServerSecret"/>, never rotated
/// with a CA), so nothing is stored per token and every start of the server, and every CA rotation, keeps the tokens of
/// before. A token reads one stream until it expires, or until <c>logs/reauthorize</c> raises the execution's epoch.
/// </summary>
public sealed class ExecutionLogTokens(ServerSecret secret, ServerOptions options, TimeProvider timeProvider)
{
    private const string Prefix = "dlt1.";
    private readonly byte[] _key = secret.Derive("execution log read token");

    public (string Token, DateTimeOffset ExpiresAt) Issue(ExecutionRecord execution)
    {
        var expires = timeProvider.GetUtcNow() + options.ExecutionLogTokenLifetime;
        var payload = Encoding.UTF8.GetBytes(string.Join('.', execution.Id, execution.StreamId,
            execution.TokenEpoch.ToString(CultureInfo.InvariantCulture), expires.ToUnixTimeMilliseconds().ToString(CultureInfo.InvariantCulture)));
        return (Prefix + Base64Url.EncodeToString(payload) + "." + Base64Url.EncodeToString(HMACSHA256.HashData(_key, payload)), expires);
    }

    /// <summary>The execution id, epoch and expiry of a genuine, unexpired token for <paramref name="streamId"/>; null otherwise.</summary>
    public (string ExecutionId, int Epoch, DateTimeOffset ExpiresAt)? Read(string? token, string streamId)
    {
        if (token is null || token.Length > 512 || !token.StartsWith(Prefix, StringComparison.Ordinal))
        {
            return null;
        }

        var parts = token[Prefix.Length..].Split('.');
        if (parts.Length != 2 || !Base64Url.IsValid(parts[0]) || !Base64Url.IsValid(parts[1]))
        {
            return null;
        }

        var payload = Base64Url.DecodeFromChars(parts[0]);
        var mac = Base64Url.DecodeFromChars(parts[1]);
        if (!CryptographicOperations.FixedTimeEquals(mac, HMACSHA256.HashData(_key, payload)))
        {
            return null;
        }

        var fields = Encoding.UTF8.GetString(payload).Split('.');
        return fields.Length == 4
            && fields[1] == streamId
            && int.TryParse(fields[2], NumberStyles.None, CultureInfo.InvariantCulture, out var epoch)
            && long.TryParse(fields[3], NumberStyles.None, CultureInfo.InvariantCulture, out var expires)
            && timeProvider.GetUtcNow().ToUnixTimeMilliseconds() < expires
            ? (fields[0], epoch, DateTimeOffset.FromUnixTimeMilliseconds(expires))
            : null;
    }
}
