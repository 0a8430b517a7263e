using System.Buffers;

namespace Persistence.Core.Tests.Typed;

/// <summary>
/// Wraps a store and, before each of the first <c>interferences</c> conditional puts, lets a competing writer bump the
/// record first, so the put meets a real version conflict.
/// </summary>
internal sealed class InterferingStore(IStore inner, int interferences, Func<int, ReadOnlyMemory<byte>> competingPayload) : DelegatingStore(inner)
{
    private int _remaining = interferences;

    public int Puts { get; private set; }

    public int Interfered { get; private set; }

    public static ReadOnlyMemory<byte> Json<T>(ISerializer serializer, T value)
    {
        var buffer = new ArrayBufferWriter<byte>();
        serializer.Serialize(buffer, value);
        return buffer.WrittenMemory;
    }

    public override async ValueTask<long> PutAsync(string collection, string key, ReadOnlyMemory<byte> payload, PutOptions? options = null, CancellationToken cancellationToken = default)
    {
        Puts++;
        if (options?.ExpectedVersion is not null && _remaining > 0)
        {
            _remaining--;
            Interfered++;
            await Inner.PutAsync(collection, key, competingPayload(Interfered), null, cancellationToken);
        }

        return await Inner.PutAsync(collection, key, payload, options, cancellationToken);
    }
}
