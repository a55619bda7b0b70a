namespace Dedalus.Server.Cluster;

/// <summary>
/// This server as a node: its id, kept in <c>&lt;data-dir&gt;/node_id</c> so that a restart (or a crash) comes back as
/// the same node and adopts its machines. The data directory is the node: its machines' homes and runtime state live
/// there, so a second server on the same data directory would be the same node, and a copy of it must not be started
/// elsewhere while the original runs.
/// </summary>
public sealed class LocalNode
{
    private const string FileName = "node_id";
    private const string Prefix = "node-";

    private LocalNode(string id) => Id = id;

    public string Id { get; }

    /// <summary>Whether this node owns <paramref name="nodeId"/>'s machines (a machine stored before nodes existed is ours until adopted).</summary>
    public bool Owns(string? nodeId) => nodeId is null || string.Equals(nodeId, Id, StringComparison.Ordinal);

    /// <summary>The node of <paramref name="dataDirectory"/>, or null when no server has run there (nothing is created).</summary>
    public static LocalNode? TryLoad(string dataDirectory) =>
        File.Exists(Path.Combine(dataDirectory, FileName)) ? LoadOrCreate(dataDirectory) : null;

    /// <summary>Reads the node id of <paramref name="dataDirectory"/>, creating it (0600) on first start.</summary>
    public static LocalNode LoadOrCreate(string dataDirectory)
    {
        var path = Path.Combine(dataDirectory, FileName);
        if (File.Exists(path))
        {
            var text = File.ReadAllText(path).Trim();
            return IsNodeId(text) ? new LocalNode(text) : throw new InvalidDataException($"{path} does not hold a node id ({Prefix}<uuid>); restore it or remove it to make this a new node");
        }

        var id = Prefix + Guid.CreateVersion7().ToString("D");
        Directory.CreateDirectory(dataDirectory);
        var temporary = path + ".tmp";
        File.WriteAllText(temporary, id + "\n");
        File.SetUnixFileMode(temporary, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        File.Move(temporary, path, overwrite: false);
        return new LocalNode(id);
    }

    public static bool IsNodeId(string text) =>
        text.StartsWith(Prefix, StringComparison.Ordinal) && Guid.TryParseExact(text.AsSpan(Prefix.Length), "D", out _);
}
