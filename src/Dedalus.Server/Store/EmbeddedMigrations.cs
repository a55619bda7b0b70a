using System.Globalization;

namespace Dedalus.Server.Store;

/// <summary>The SQL migrations a store embeds as <c>NNNN_name.sql</c> resources under one prefix, in version order.</summary>
internal static class EmbeddedMigrations
{
    public static IReadOnlyList<(int Version, string Name, string Sql)> Load(string resourcePrefix)
    {
        var assembly = typeof(EmbeddedMigrations).Assembly;
        var migrations = new List<(int, string, string)>();
        foreach (var resource in assembly.GetManifestResourceNames())
        {
            if (!resource.StartsWith(resourcePrefix, StringComparison.Ordinal) || !resource.EndsWith(".sql", StringComparison.Ordinal))
            {
                continue;
            }

            var name = resource[resourcePrefix.Length..^".sql".Length];
            var underscore = name.IndexOf('_', StringComparison.Ordinal);
            var version = int.Parse(underscore > 0 ? name[..underscore] : name, NumberStyles.None, CultureInfo.InvariantCulture);
            using var stream = assembly.GetManifestResourceStream(resource)!;
            using var reader = new StreamReader(stream);
            migrations.Add((version, name, reader.ReadToEnd()));
        }

        migrations.Sort((a, b) => a.Item1.CompareTo(b.Item1));
        return migrations;
    }
}
