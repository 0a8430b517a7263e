using YamlDotNet.Core;
using YamlDotNet.Core.Events;

namespace Persistence.Stores.Yaml;

/// <summary>
/// A parser that stops a YAML stream as soon as it nests deeper than allowed, or its node count with every alias expanded
/// passes the limit (the "billion laughs" document), or an alias refers to a node that is not complete (a cycle).
/// </summary>
internal sealed class BoundedParser(IParser inner, int maxDepth, long maxNodes) : IParser
{
    private readonly Dictionary<AnchorName, long> _sizes = [];
    private readonly Stack<(AnchorName Anchor, long Start)> _open = new();
    private int _depth;
    private long _nodes;
    private Mark _lastEnd = Mark.Empty;

    public ParsingEvent? Current => inner.Current;

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

        _lastEnd = inner.Current!.End;

        switch (inner.Current)
        {
            case Scalar scalar:
                Count(1, scalar.Start);
                if (!scalar.Anchor.IsEmpty)
                {
                    _sizes[scalar.Anchor] = 1;
                }

                break;
            case NodeEvent { } start and (MappingStart or SequenceStart):
                Count(1, start.Start);
                if (++_depth > maxDepth)
                {
                    throw new YamlLimitException(start.Start, $"The YAML nests mappings and sequences deeper than {maxDepth} levels.");
                }

                _open.Push((start.Anchor, _nodes));
                break;
            case MappingEnd or SequenceEnd:
                _depth--;
                var (anchor, begin) = _open.Pop();
                if (!anchor.IsEmpty)
                {
                    _sizes[anchor] = _nodes - begin + 1;
                }

                break;
            case AnchorAlias alias:
                if (!_sizes.TryGetValue(alias.Value, out var size))
                {
                    throw new YamlLimitException(alias.Start, _open.Any(o => o.Anchor == alias.Value)
                        ? $"The alias '*{alias.Value}' refers to a node that contains it."
                        : $"The alias '*{alias.Value}' refers to no anchor defined before it.");
                }

                Count(size, alias.Start);
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
