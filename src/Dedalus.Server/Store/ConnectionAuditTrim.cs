namespace Dedalus.Server.Store;

/// <summary>What one bounded trim of the <c>ssh_connections</c> audit deleted.</summary>
/// <param name="OverCap">The oldest rows of machines that had more than their cap.</param>
/// <param name="Expired">Rows whose connection ended before the retention.</param>
public readonly record struct ConnectionAuditTrim(int OverCap, int Expired)
{
    /// <summary>Rows deleted in all; at most the batch the trim was given.</summary>
    public int Total => OverCap + Expired;
}
