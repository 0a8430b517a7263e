namespace Persistence.Core.Tests.Typed;

public sealed record Widget(string Id, string Name, int Count);
