using System.Buffers;
using System.Runtime.InteropServices;

namespace Persistence.Caching;

/// <summary>
/// A cached payload. It is handed out as <see cref="ReadOnlyMemory{T}"/> over a <see cref="MemoryManager{T}"/> that does not
/// expose its array (<see cref="MemoryMarshal.TryGetArray{T}(ReadOnlyMemory{T}, out ArraySegment{T})"/> fails), so a caller
/// cannot write into the cache through the usual routes.
/// </summary>
internal sealed class ReadOnlyPayload : MemoryManager<byte>
{
    private readonly byte[] _bytes;

    private ReadOnlyPayload(byte[] bytes) => _bytes = bytes;

    public static ReadOnlyMemory<byte> CopyOf(ReadOnlyMemory<byte> payload)
        => payload.IsEmpty ? ReadOnlyMemory<byte>.Empty : new ReadOnlyPayload(payload.ToArray()).Memory;

    public override Span<byte> GetSpan() => _bytes;

    public override unsafe MemoryHandle Pin(int elementIndex = 0)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(elementIndex);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(elementIndex, _bytes.Length);
        var handle = GCHandle.Alloc(_bytes, GCHandleType.Pinned);
        return new MemoryHandle((byte*)handle.AddrOfPinnedObject() + elementIndex, handle);
    }

    public override void Unpin()
    {
    }

    protected override bool TryGetArray(out ArraySegment<byte> segment)
    {
        segment = default;
        return false;
    }

    protected override void Dispose(bool disposing)
    {
    }
}
