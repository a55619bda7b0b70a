namespace Dedalus.Gateway;

/// <summary>What the bytes a client sent first amount to (<see cref="SshIdentificationLine.Check"/>).</summary>
internal enum SshIdentificationStatus
{
    /// <summary>A valid beginning, no line end yet: read more.</summary>
    Incomplete,

    /// <summary>A whole SSH-2.0 (or SSH-1.99) identification line.</summary>
    Complete,

    /// <summary>Not an SSH identification: another protocol, binary data, or no line end within 255 bytes.</summary>
    NotSsh,

    /// <summary>An SSH identification of a protocol version other than 2.0 (or 1.99, which means 2.0 as well).</summary>
    UnsupportedVersion,
}
