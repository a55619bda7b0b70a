namespace Dedalus.Machines.Runtime;

/// <summary>Everything needed to provision a machine.</summary>
/// <param name="MachineId">Id; also the hostname inside.</param>
/// <param name="Resources">Limits.</param>
/// <param name="Ssh">OpenSSH material for the machine's sshd.</param>
/// <param name="Network">Its network (address and egress policy); null: loopback only.</param>
public sealed record MachineSpec(string MachineId, MachineResources Resources, MachineSshMaterial Ssh, MachineNetwork? Network = null);
