namespace Dedalus.Server.Store;

/// <summary>
/// What an org's machines hold: every machine not yet destroyed (its port, image and limits exist until the runtime has
/// destroyed it), and the part of that held by machines whose deletion was asked and will be released shortly.
/// </summary>
public sealed record OrgMachines(MachineUsage Held, MachineUsage Releasing);
