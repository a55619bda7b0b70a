using Dedalus.Contracts;

namespace Dedalus.Testing.ControlPlane;

/// <summary>Wire-format (snake_case) results for stub routes.</summary>
public static class Wire
{
    public static Microsoft.AspNetCore.Http.IResult Json(Machine machine) =>
        Microsoft.AspNetCore.Http.Results.Json(machine, DedalusJsonContext.Default.Machine);

    public static Microsoft.AspNetCore.Http.IResult Json(MachineList list) =>
        Microsoft.AspNetCore.Http.Results.Json(list, DedalusJsonContext.Default.MachineList);

    public static Microsoft.AspNetCore.Http.IResult Json(SshSession session) =>
        Microsoft.AspNetCore.Http.Results.Json(session, DedalusJsonContext.Default.SshSession);

    public static Microsoft.AspNetCore.Http.IResult Json(SshSessionList list) =>
        Microsoft.AspNetCore.Http.Results.Json(list, DedalusJsonContext.Default.SshSessionList);
}
