global using Dedalus.Client.Tests.Infrastructure;
global using Dedalus.Contracts;
global using Dedalus.Testing.ControlPlane;
