using YamlDotNet.Core;
using YamlDotNet.Core.Events;

namespace Persistence.Stores.Yaml;

/// <summary>
/// A parser that stops a YAML stream as soon as it nests deeper than allowed, or its node count with every alias expanded
/// passes the limit (the "billion laughs" document), or an alias refers to a node that is not complete (a cycle); with
/// <c>checkKeys</c>, also at a mapping key that is null or not a scalar, which no string key can stand for.
/// </summary>
internal sealed class BoundedParser(IParser inner, int maxDepth, long maxNodes, bool checkKeys = false) : IParser
{
    // Per anchor, the node count of its node, negated when that node is a mapping or sequence.
    private readonly Dictionary<AnchorName, long> _sizes = [];
    private readonly Stack<(AnchorName Anchor, long Start)> _open = new();

    // Per open collection: 0 a sequence, 1 a mapping whose next node is a key, 2 one whose next node is a value.
    private readonly List<byte> _containers = [];
    private int _depth;
    private long _nodes;
    private Mark _lastEnd = Mark.Empty;

    public ParsingEvent? Current => inner.Current;

    /// <summary>Gets a value indicating whether the current event is the key of a mapping pair.</summary>
    public bool AtKey { get; private set; }

    public bool MoveNext()
    {
        bool moved;
        try
        {
            moved = inner.MoveNext();
        }
        catch (InvalidOperationException ex)
        {
            // YamlDotNet's scanner fails some malformed input without a position; give the last one known.
            throw new YamlException(_lastEnd, _lastEnd, $"The YAML is malformed after this point ({ex.Message})", ex);
        }

        if (!moved)
        {
            return false;
        }

        var current = inner.Current!;
        _lastEnd = current.End;
        AtKey = false;
        if (current is NodeEvent or AnchorAlias && _containers.Count > 0 && _containers[^1] != 0)
        {
            AtKey = _containers[^1] == 1;
            _containers[^1] = AtKey ? (byte)2 : (byte)1;
        }

        switch (current)
        {
            case Scalar scalar:
                Count(1, scalar.Start);
                if (!scalar.Anchor.IsEmpty)
                {
                    _sizes[scalar.Anchor] = 1;
                }

                if (AtKey && checkKeys && CoreSchema.Resolve(scalar) == CoreSchema.Kind.Null)
                {
                    throw new YamlException(scalar.Start, scalar.End, $"The mapping key '{scalar.Value}' is null under the YAML 1.2 core schema; a key must be a string (quote it).");
                }

                break;
            case NodeEvent { } start and (MappingStart or SequenceStart):
                if (AtKey && checkKeys)
                {
                    throw new YamlException(start.Start, start.End, $"A mapping key is a {(start is MappingStart ? "mapping" : "sequence")}, not a scalar; a key must be a string.");
                }

                Count(1, start.Start);
                if (++_depth > maxDepth)
                {
                    throw new YamlLimitException(start.Start, $"The YAML nests mappings and sequences deeper than {maxDepth} levels.");
                }

                _open.Push((start.Anchor, _nodes));
                _containers.Add(start is MappingStart ? (byte)1 : (byte)0);
                break;
            case MappingEnd or SequenceEnd:
                _depth--;
                _containers.RemoveAt(_containers.Count - 1);
                var (anchor, begin) = _open.Pop();
                if (!anchor.IsEmpty)
                {
                    _sizes[anchor] = -(_nodes - begin + 1);
                }

                break;
            case AnchorAlias alias:
                if (!_sizes.TryGetValue(alias.Value, out var size))
                {
                    throw new YamlLimitException(alias.Start, _open.Any(o => o.Anchor == alias.Value)
                        ? $"The alias '*{alias.Value}' refers to a node that contains it."
                        : $"The alias '*{alias.Value}' refers to no anchor defined before it.");
                }

                if (AtKey && checkKeys && size < 0)
                {
                    throw new YamlException(alias.Start, alias.End, $"The mapping key '*{alias.Value}' is an alias of a mapping or sequence, not a scalar; a key must be a string.");
                }

                Count(Math.Abs(size), alias.Start);
                break;
        }

        return true;
    }

    private void Count(long nodes, Mark at)
    {
        _nodes += nodes;
        if (_nodes > maxNodes)
        {
            throw new YamlLimitException(at, $"The YAML has more than {maxNodes} nodes once its aliases are expanded (an alias bomb?).");
        }
    }
}

/// <summary>A YAML document passes a safety limit.</summary>
internal sealed class YamlLimitException(Mark at, string message) : YamlException(at, at, message);
