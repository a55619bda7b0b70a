global using Dedalus.Client.Tests.Infrastructure;
global using Dedalus.Contracts;
