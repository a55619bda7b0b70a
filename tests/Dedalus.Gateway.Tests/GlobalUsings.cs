global using Dedalus.Gateway.Tests.Infrastructure;
global using Dedalus.Testing;
