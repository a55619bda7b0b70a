global using Dedalus.Cli.Tests.Infrastructure;
global using Dedalus.Contracts;
global using Dedalus.Testing.ControlPlane;
