global using Dedalus.Machines.Runtime;
global using Dedalus.Testing;
