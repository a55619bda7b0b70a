namespace Dedalus.Machines.Images;

/// <summary>Defaults of the shared base userland.</summary>
public static class BaseImageDefaults
{
    /// <summary>Default cache directory of the base userland.</summary>
    public const string CacheDirectory = "/var/lib/dedalus/base";

    /// <summary>Default Debian mirror.</summary>
    public const string DebianMirror = "http://deb.debian.org/debian";
}
