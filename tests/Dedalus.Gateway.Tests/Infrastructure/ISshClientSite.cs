namespace Dedalus.Gateway.Tests.Infrastructure;

/// <summary>Where the OpenSSH clients of a test log in: a known_hosts file that trusts only the site's host CA, and the login user.</summary>
public interface ISshClientSite
{
    /// <summary>A known_hosts file holding only "@cert-authority 127.0.0.1,[127.0.0.1]:* &lt;host CA&gt;".</summary>
    string KnownHostsFile { get; }

    /// <summary>The user the clients log in as.</summary>
    string LoginUser { get; }
}
