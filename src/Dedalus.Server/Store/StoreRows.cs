using System.Data.Common;
using System.Text;
using System.Text.Json;

namespace Dedalus.Server.Store;

/// <summary>
/// The store's rows as records, for both implementations: they select the same columns in the same order, and keep
/// times as Unix milliseconds, lists as JSON text and output chunks as UTF-8 bytes. Flags are integers in SQLite and
/// booleans in PostgreSQL; <see cref="Flag"/> reads either.
/// </summary>
internal static class StoreRows
{
    public static MachineRecord ReadMachine(DbDataReader r) => new()
    {
        Id = r.GetString(1),
        OrgId = r.GetString(2),
        Vcpu = r.GetDouble(3),
        MemoryMib = r.GetInt64(4),
        StorageGib = r.GetInt64(5),
        AutosleepSeconds = r.GetInt64(6),
        DesiredState = r.GetString(7),
        Phase = r.GetString(8),
        Reason = r.GetString(9),
        Retryable = Flag(r, 10),
        LastError = NullableString(r, 11),
        Revision = r.GetInt64(12),
        GatewayPort = r.GetInt32(13),
        ResourcesDirty = Flag(r, 14),
        CreatedAt = Time(r, 15),
        LastTransitionAt = Time(r, 16),
        LastProgressAt = Time(r, 17),
        LastActivityAt = Time(r, 18),
        GatewayPortError = NullableString(r, 19),
        Name = NullableString(r, 20),
        Reboot = NullableString(r, 21),
        Autoresize = NullableFlag(r, 22),
        MemoryAutoresizedMib = r.GetInt64(23),
        MemoryLastAutoresizedAt = NullableTime(r, 24),
        MemoryResizeState = NullableString(r, 25),
        NetworkAddress = NullableString(r, 26),
        NetworkPolicy = NullableString(r, 27),
        NodeId = NullableString(r, 28),
    };

    public static SessionRecord ReadSession(DbDataReader r) => new()
    {
        Id = r.GetString(1),
        OrgId = r.GetString(2),
        MachineId = r.GetString(3),
        Status = r.GetString(4),
        PublicKey = r.GetString(5),
        Serial = unchecked((ulong)r.GetInt64(6)),
        Certificate = NullableString(r, 7),
        CreatedAt = Time(r, 8),
        ReadyAt = NullableTime(r, 9),
        ExpiresAt = Time(r, 10),
        ClosedAt = NullableTime(r, 11),
        ErrorCode = NullableString(r, 12),
        ErrorMessage = NullableString(r, 13),
    };

    public static ExecutionRecord ReadExecution(DbDataReader r) => new()
    {
        Seq = r.GetInt64(0),
        Id = r.GetString(1),
        OrgId = r.GetString(2),
        MachineId = r.GetString(3),
        Status = r.GetString(4),
        Command = Strings(r, 5),
        Cwd = NullableString(r, 6),
        EnvKeys = Strings(r, 7),
        TimeoutMs = r.GetInt64(8),
        Runner = r.GetString(9),
        StreamId = r.GetString(10),
        TokenEpoch = r.GetInt32(11),
        CreationRequestId = NullableString(r, 12),
        CreationTraceId = NullableString(r, 13),
        CreatedAt = Time(r, 14),
        StartedAt = NullableTime(r, 15),
        CompletedAt = NullableTime(r, 16),
        ExpiresAt = NullableTime(r, 17),
        ExitCode = NullableInt(r, 18),
        Signal = NullableInt(r, 19),
        ErrorCode = NullableString(r, 20),
        ErrorMessage = NullableString(r, 21),
        StdoutBytes = r.GetInt64(22),
        StderrBytes = r.GetInt64(23),
        StdoutKept = r.GetInt64(24),
        StderrKept = r.GetInt64(25),
        CaptureCode = NullableString(r, 26),
        LastSequence = r.GetInt64(27),
        CancelRequested = Flag(r, 28),
    };

    public static ExecutionEventRecord ReadEvent(DbDataReader r) => new()
    {
        Sequence = r.GetInt64(0),
        Type = r.GetString(1),
        At = Time(r, 2),
        Chunk = r.IsDBNull(3) ? null : Chunk(r, 3),
        Status = NullableString(r, 4),
        ExitCode = NullableInt(r, 5),
        Signal = NullableInt(r, 6),
        ErrorCode = NullableString(r, 7),
        ErrorMessage = NullableString(r, 8),
    };

    public static NodeRecord ReadNode(DbDataReader r, int at = 0) => new()
    {
        Id = r.GetString(at + 0),
        Name = r.GetString(at + 1),
        GatewayHosts = r.GetString(at + 2).Split(',', StringSplitOptions.RemoveEmptyEntries),
        GatewayPortLow = r.GetInt32(at + 3),
        GatewayPortHigh = r.GetInt32(at + 4),
        Vcpu = r.GetDouble(at + 5),
        MemoryMib = r.GetInt64(at + 6),
        StorageGib = r.GetInt64(at + 7),
        StartedAt = Time(r, at + 8),
        HeartbeatAt = Time(r, at + 9),
        CaFingerprint = r.GetString(at + 10),
    };

    public static ConsoleSessionRecord ReadConsoleSession(DbDataReader r) => new()
    {
        Id = r.GetString(0),
        TokenHash = (byte[])r.GetValue(1),
        OrgId = r.GetString(2),
        ApiKeyHash = (byte[])r.GetValue(3),
        CsrfToken = r.GetString(4),
        CreatedAt = Time(r, 5),
        LastSeenAt = Time(r, 6),
        ExpiresAt = Time(r, 7),
        IdleExpiresAt = Time(r, 8),
    };

    /// <summary>The columns <see cref="ReadConnectionAudit"/> reads, in its order.</summary>
    public const string ConnectionAuditColumns = "machine_id, session_id, serial, peer, started_at, ended_at, bytes_in, bytes_out, end_reason, detail";

    /// <summary>The columns <see cref="ReadLiveConnection"/> reads, in its order.</summary>
    public const string LiveConnectionColumns = "node_id, connection_id, machine_id, session_id, serial, peer, started_at, bytes_in, bytes_out, updated_at";

    /// <summary>An audit row: <see cref="ConnectionAuditColumns"/> from <paramref name="at"/>.</summary>
    public static ConnectionAudit ReadConnectionAudit(DbDataReader r, int at = 0) => new(
        r.GetString(at),
        NullableString(r, at + 1),
        r.IsDBNull(at + 2) ? null : unchecked((ulong)r.GetInt64(at + 2)),
        r.GetString(at + 3),
        Time(r, at + 4),
        Time(r, at + 5),
        r.GetInt64(at + 6),
        r.GetInt64(at + 7),
        r.GetString(at + 8),
        NullableString(r, at + 9));

    /// <summary>A live connection row: <see cref="LiveConnectionColumns"/>.</summary>
    public static LiveConnectionRecord ReadLiveConnection(DbDataReader r) => new(
        r.GetString(0),
        r.GetInt64(1),
        r.GetString(2),
        NullableString(r, 3),
        r.IsDBNull(4) ? null : unchecked((ulong)r.GetInt64(4)),
        r.GetString(5),
        Time(r, 6),
        r.GetInt64(7),
        r.GetInt64(8),
        Time(r, 9));

    public static DateTimeOffset Time(DbDataReader reader, int ordinal) => DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(ordinal));

    public static DateTimeOffset? NullableTime(DbDataReader reader, int ordinal) =>
        reader.IsDBNull(ordinal) ? null : DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(ordinal));

    public static string? NullableString(DbDataReader reader, int ordinal) => reader.IsDBNull(ordinal) ? null : reader.GetString(ordinal);

    public static int? NullableInt(DbDataReader reader, int ordinal) => reader.IsDBNull(ordinal) ? null : reader.GetInt32(ordinal);

    public static bool Flag(DbDataReader reader, int ordinal) =>
        reader.GetFieldType(ordinal) == typeof(bool) ? reader.GetBoolean(ordinal) : reader.GetInt64(ordinal) != 0;

    public static bool? NullableFlag(DbDataReader reader, int ordinal) => reader.IsDBNull(ordinal) ? null : Flag(reader, ordinal);

    public static IReadOnlyList<string> Strings(DbDataReader reader, int ordinal) =>
        JsonSerializer.Deserialize(reader.GetString(ordinal), StoreJsonContext.Default.IReadOnlyListString) ?? [];

    /// <summary>A chunk of output, stored as its UTF-8 bytes: output may hold NUL characters, which text values do not carry whole.</summary>
    public static string Chunk(DbDataReader reader, int ordinal) => reader.IsDBNull(ordinal) ? "" : Encoding.UTF8.GetString(reader.GetFieldValue<byte[]>(ordinal));
}

/// <summary>JSON columns of the store (string lists).</summary>
[System.Text.Json.Serialization.JsonSerializable(typeof(IReadOnlyList<string>))]
internal sealed partial class StoreJsonContext : System.Text.Json.Serialization.JsonSerializerContext;
