using System.CommandLine;
using System.Globalization;
using System.Text;
using Dedalus.OpenSsh;
using Dedalus.Server.Ssh;

namespace Dedalus.Server.Hosting;

/// <summary>
/// <c>dedalus-server ca rotate --user [--overlap DURATION] | --host</c> and <c>ca show</c>: replaces a CA key in a
/// server's CA directory (<see cref="CaFiles"/>) and shows the keys by fingerprint. The server may be running (the
/// usual case): it reads the files again at its next use of a key (<see cref="SshAuthority.Current"/>) and at every
/// maintenance sweep, so the first session created after the command returns is signed by the new user CA and carries
/// the new host trust. A stopped server loads the new keys as it starts. Private keys are never printed.
/// </summary>
public static class CaCommand
{
    /// <summary>
    /// The default overlap of a user CA rotation: the longest a session certificate can be valid (<c>--session-ttl</c>
    /// is at most 24 h), so that no certificate the old CA signed, before the rotation or by a running server in the
    /// instant it switches, stops working early, whatever TTL the server runs with. It is also the longest allowed: no
    /// certificate outlives it, so a longer overlap would only keep trusting a key that signs nothing.
    /// </summary>
    public static readonly TimeSpan DefaultOverlap = ServerOptions.MaxSessionTtl;

    /// <summary>How long a rotation waits for another one that holds <c>rotation.lock</c> (each takes milliseconds).</summary>
    private static readonly TimeSpan LockTimeout = TimeSpan.FromSeconds(10);

    private const string RotateHelp = """
        Replace a CA with a new key, then print the CAs. The server may be running: the first session created after this
        returns is signed by the new user CA (machines already trust it) and carries the new host trust; a stopped server
        loads the new keys as it starts.
        --user: the user CA, which signs session certificates. Its private key is deleted now (it never signs again), and
        machines keep trusting the old public key for the overlap (--overlap, default 24h: the longest a session
        certificate can be valid, so no session made before the rotation is cut short). When the overlap ends (at the
        server's next sweep, every few seconds) machines refuse the old CA's certificates and the server closes its
        sessions still open, cutting their connections. After a compromise use --overlap 0: every certificate of the old
        CA is refused and its sessions closed at once; clients make new sessions.
        --host: the master key every machine's host CA derives from. The old one is deleted; running machines get a new
        host key and certificate at once. Sessions made before no longer verify their machine (host key verification
        fails); a new session carries the new host CA, and `dedalus ssh`, `dedalus ssh-config` and the SDK make one at
        every connection, so they follow without action. There is no overlap.
        """;

    public static Command Create(TextWriter error) =>
        new("ca", "Rotate and show the SSH certificate authorities (the server may be running: it follows at once)")
        {
            Rotate(error),
            Show(error),
        };

    private static Command Rotate(TextWriter error)
    {
        var dataDirectory = DataDirectoryOption();
        var user = new Option<bool>("--user") { Description = "Rotate the user CA (signs session certificates)" };
        var host = new Option<bool>("--host") { Description = "Rotate the master host key (every machine's host CA derives from it)" };
        var overlap = new Option<string?>("--overlap")
        {
            Description = "With --user: how long machines keep trusting the old user CA, 0 to 24h (0, 90s, 15m, 1h, 01:00:00) [default: 24h]",
            HelpName = "DURATION",
        };
        var caDirectory = CaDirectoryOption();
        var rotate = new Command("rotate", RotateHelp) { dataDirectory, caDirectory, user, host, overlap };
        rotate.SetAction(async (parseResult, _) =>
        {
            var (isUser, isHost) = (parseResult.GetValue(user), parseResult.GetValue(host));
            if (isUser == isHost)
            {
                return ServerCommand.Usage(
                    error,
                    isUser ? "give --user or --host, not both" : "give --user (the CA of session certificates) or --host (the master of the machines' host CAs)",
                    "ca rotate");
            }

            var overlapValue = DefaultOverlap;
            if (parseResult.GetValue(overlap) is { } text)
            {
                if (isHost)
                {
                    return ServerCommand.Usage(error, "--overlap goes with --user: a host CA rotation has no overlap (every session carries its machine's current host CA)", "ca rotate");
                }

                if (!ServerConfiguration.TryDuration(text, out overlapValue) || overlapValue < TimeSpan.Zero || overlapValue > DefaultOverlap)
                {
                    return ServerCommand.Usage(error, $"--overlap must be a duration from 0 to 24h (0, 90s, 15m, 1h or 01:00:00), not '{Shorten(text)}'", "ca rotate");
                }
            }

            if (await OpenAsync(parseResult, dataDirectory, caDirectory, error).ConfigureAwait(false) is not { } files)
            {
                return ServerCommand.ExitFailure;
            }

            using var held = files.TryLock(LockTimeout);
            if (held is null)
            {
                await error.WriteLineAsync($"dedalus-server: {files.LockPath} is held by another `dedalus-server ca rotate`: try again once it is done").ConfigureAwait(false);
                return ServerCommand.ExitFailure;
            }

            string done;
            try
            {
                done = isUser ? RotateUser(files, overlapValue, DateTimeOffset.UtcNow) : RotateHost(files);
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or SshFormatException or InvalidDataException)
            {
                await error.WriteLineAsync($"dedalus-server: ca rotate failed, the CA was not replaced: {OneLine(ex.Message)}").ConfigureAwait(false);
                return ServerCommand.ExitFailure;
            }

            var output = parseResult.InvocationConfiguration.Output;
            await output.WriteLineAsync(done).ConfigureAwait(false);
            return await PrintAsync(files, output, error).ConfigureAwait(false);
        });
        return rotate;
    }

    private static Command Show(TextWriter error)
    {
        var dataDirectory = DataDirectoryOption();
        var caDirectory = CaDirectoryOption();
        var show = new Command("show", "Print the CAs' fingerprints: the user CA, the retired user CAs and until when machines trust them, the master host key") { dataDirectory, caDirectory };
        show.SetAction(async (parseResult, _) =>
            await OpenAsync(parseResult, dataDirectory, caDirectory, error).ConfigureAwait(false) is { } files
                ? await PrintAsync(files, parseResult.InvocationConfiguration.Output, error).ConfigureAwait(false)
                : ServerCommand.ExitFailure);
        return show;
    }

    /// <summary>
    /// Retires the user CA: its public key goes to <c>user_ca.retired</c>, trusted until now plus
    /// <paramref name="overlap"/> (written first, so a server that sees the new CA also sees the old one), then a new
    /// key replaces <c>user_ca</c>, which deletes the old private key. CAs retired before keep their end, but none ends
    /// after this one's (an overlap of 0 ends them all now); those already ended are dropped.
    /// </summary>
    private static string RotateUser(CaFiles files, TimeSpan overlap, DateTimeOffset now)
    {
        SshPublicKey old;
        using (var oldKey = CaFiles.ReadKey(files.UserCaPath))
        {
            old = oldKey.PublicKey;
        }

        var until = now + overlap;
        List<RetiredUserCa> retired =
        [
            .. files.ReadRetiredUserCas()
                .Where(r => !r.Key.Equals(old))
                .Select(r => r.TrustedUntil > until ? r with { TrustedUntil = until } : r)
                .Where(r => r.IsTrustedAt(now)),
            new RetiredUserCa(old, until),
        ];
        files.WriteRetiredUserCas(retired);

        using var key = SshPrivateKey.GenerateEd25519();
        CaFiles.WriteKey(files.UserCaPath, key, CaFiles.UserCaComment);
        return overlap == TimeSpan.Zero
            ? $"user CA rotated: {key.PublicKey.Fingerprint} replaces {old.Fingerprint}, whose private key is deleted and whose certificates machines refuse now (overlap 0)"
            : $"user CA rotated: {key.PublicKey.Fingerprint} replaces {old.Fingerprint}, whose private key is deleted; machines trust its certificates until {Time(until)} (overlap {Duration(overlap)})";
    }

    /// <summary>Replaces the master host key (the old file is deleted by the rename).</summary>
    private static string RotateHost(CaFiles files)
    {
        SshPublicKey old;
        using (var oldKey = CaFiles.ReadKey(files.HostCaPath))
        {
            old = oldKey.PublicKey;
        }

        using var key = SshPrivateKey.GenerateEd25519();
        CaFiles.WriteKey(files.HostCaPath, key, CaFiles.HostCaComment);
        return $"host CA rotated: {key.PublicKey.Fingerprint} replaces {old.Fingerprint}, which is deleted; every machine's host CA changes with it, running machines get new host certificates, sessions made before no longer verify their machine";
    }

    /// <summary>The CAs by fingerprint, one per line (the private keys are read for their public halves only).</summary>
    private static async Task<int> PrintAsync(CaFiles files, TextWriter output, TextWriter error)
    {
        SshPublicKey user, host;
        IReadOnlyList<RetiredUserCa> retired;
        try
        {
            using (var userKey = CaFiles.ReadKey(files.UserCaPath))
            {
                user = userKey.PublicKey;
            }

            using (var hostKey = CaFiles.ReadKey(files.HostCaPath))
            {
                host = hostKey.PublicKey;
            }

            retired = files.ReadRetiredUserCas();
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or SshFormatException or InvalidDataException)
        {
            await error.WriteLineAsync($"dedalus-server: cannot read the CA files in {files.Directory}: {OneLine(ex.Message)}").ConfigureAwait(false);
            return ServerCommand.ExitFailure;
        }

        var now = DateTimeOffset.UtcNow;
        var text = new StringBuilder()
            .Append(CultureInfo.InvariantCulture, $"user CA           {user.Fingerprint}  signs new session certificates ({files.UserCaPath})\n");
        foreach (var ca in retired.Where(r => !r.Key.Equals(user)))
        {
            text.Append(CultureInfo.InvariantCulture, $"previous user CA  {ca.Key.Fingerprint}  ")
                .Append(ca.IsTrustedAt(now)
                    ? $"trusted by machines until {Time(ca.TrustedUntil)} ({Duration(ca.TrustedUntil - now)} from now)\n"
                    : $"no longer trusted (since {Time(ca.TrustedUntil)})\n");
        }

        if (!retired.Any(r => !r.Key.Equals(user)))
        {
            text.Append("previous user CA  none\n");
        }

        text.Append(CultureInfo.InvariantCulture, $"host CA master    {host.Fingerprint}  every machine's host CA derives from it ({files.HostCaPath})\n");
        await output.WriteAsync(text.ToString()).ConfigureAwait(false);
        return ServerCommand.ExitOk;
    }

    private static Option<string?> DataDirectoryOption() => new("--data-dir")
    {
        Description = "The server's data directory (env DEDALUS_DATA_DIR) [default: " + ServerConfiguration.DefaultDataDirectory() + "]",
        HelpName = "DIR",
    };

    private static Option<string?> CaDirectoryOption() => new("--ca-dir")
    {
        Description = "The CA directory the servers were given with --ca-dir (env DEDALUS_CA_DIR) [default: DATA-DIR/ca]",
        HelpName = "DIR",
    };

    /// <summary>The CA directory given (or the data directory's), or (on stderr, null) that no server made its keys there.</summary>
    private static async Task<CaFiles?> OpenAsync(ParseResult parseResult, Option<string?> dataDirectory, Option<string?> caDirectory, TextWriter error)
    {
        var directory = Path.GetFullPath(parseResult.GetValue(dataDirectory)
            ?? (Environment.GetEnvironmentVariable("DEDALUS_DATA_DIR") is { Length: > 0 } fromEnvironment ? fromEnvironment : ServerConfiguration.DefaultDataDirectory()));
        var shared = parseResult.GetValue(caDirectory) ?? (Environment.GetEnvironmentVariable("DEDALUS_CA_DIR") is { Length: > 0 } caFromEnvironment ? caFromEnvironment : null);
        var files = shared is null ? new CaFiles(directory) : CaFiles.InDirectory(Path.GetFullPath(shared));
        if (!files.HasKeys)
        {
            await error.WriteLineAsync(shared is null
                ? $"dedalus-server: no CA keys in {files.Directory}: start dedalus-server once with --data-dir {directory}, or check the path"
                : $"dedalus-server: no CA keys in {files.Directory}: start dedalus-server once with --ca-dir {shared}, or check the path").ConfigureAwait(false);
            return null;
        }

        return files;
    }

    private static string Time(DateTimeOffset time) => time.UtcDateTime.ToString("yyyy-MM-dd HH:mm:ss'Z'", CultureInfo.InvariantCulture);

    /// <summary>A span as <c>23h 59m</c>, <c>5m 3s</c> or <c>42s</c> (rounded up to the second).</summary>
    private static string Duration(TimeSpan span)
    {
        var seconds = (long)Math.Ceiling(span.TotalSeconds);
        var (h, m, s) = (seconds / 3600, seconds / 60 % 60, seconds % 60);
        return h > 0 ? $"{h}h {m}m" : m > 0 ? $"{m}m {s}s" : $"{s}s";
    }

    private static string OneLine(string text) => text.ReplaceLineEndings(" ");

    private static string Shorten(string text) => text.Length <= 40 ? text : text[..40] + "...";
}
