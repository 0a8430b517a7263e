namespace Persistence.Stores.Sqlite;

/// <summary>
/// The <see cref="PlainJson"/> flags of a batch's payloads, computed ahead of the writes that store them. For a large
/// batch a worker on the thread pool works through the payloads in chunks while the writer reads versions and writes
/// rows on its own core; the writer computes any chunk nobody has claimed yet itself, so it never waits for a worker
/// that has not started, and waits only for a chunk the worker is in the middle of.
/// </summary>
internal sealed class PlainJsonFlags : IDisposable
{
    /// <summary>The smallest batch worth computing ahead: below it the checks take less than the hand-over costs.</summary>
    internal const int Threshold = 256;

    private const int ChunkSize = 128;

    private readonly Func<int, ReadOnlyMemory<byte>> _payloadAt;
    private readonly int _count;
    private readonly bool[] _plain;
    private readonly int[] _chunkDone;
    private int _claimedChunks;
    private volatile bool _abandoned;

    private PlainJsonFlags(int count, Func<int, ReadOnlyMemory<byte>> payloadAt)
    {
        _count = count;
        _payloadAt = payloadAt;
        _plain = new bool[count];
        _chunkDone = new int[(count + ChunkSize - 1) / ChunkSize];
    }

    /// <summary>Starts computing the flags of <paramref name="count"/> payloads, on a worker too when the machine has a second core.</summary>
    /// <param name="count">The number of payloads.</param>
    /// <param name="payloadAt">The payload at a position; read once per position, possibly on another thread.</param>
    /// <param name="parallel">Whether a worker may help; <see langword="false"/> computes every flag on the caller's thread.</param>
    internal static PlainJsonFlags Start(int count, Func<int, ReadOnlyMemory<byte>> payloadAt, bool parallel = true)
    {
        var flags = new PlainJsonFlags(count, payloadAt);
        if (parallel && Environment.ProcessorCount > 1)
        {
            ThreadPool.UnsafeQueueUserWorkItem(static state => state.Work(), flags, preferLocal: false);
        }

        return flags;
    }

    /// <summary>Gets whether the payload at <paramref name="index"/> is plain JSON, computing it first if nobody has.</summary>
    internal bool IsPlain(int index)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(index);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(index, _count);
        var chunk = index / ChunkSize;
        if (Volatile.Read(ref _chunkDone[chunk]) == 0)
        {
            WaitFor(chunk);
        }

        return _plain[index];
    }

    /// <summary>Stops the worker after the chunk it is on: the batch no longer needs the flags it has not reached.</summary>
    public void Dispose() => _abandoned = true;

    private void WaitFor(int chunk)
    {
        var spinner = default(SpinWait);
        while (Volatile.Read(ref _chunkDone[chunk]) == 0)
        {
            // Helping with a chunk that is still unclaimed beats waiting; only the worker's current chunk is waited for.
            if (!ComputeNextChunk())
            {
                spinner.SpinOnce(sleep1Threshold: -1);
            }
        }
    }

    // Claims the next chunk nobody has and computes it; false when every chunk is claimed.
    private bool ComputeNextChunk()
    {
        if (Volatile.Read(ref _claimedChunks) >= _chunkDone.Length)
        {
            return false;
        }

        var chunk = Interlocked.Increment(ref _claimedChunks) - 1;
        if (chunk >= _chunkDone.Length)
        {
            return false;
        }

        try
        {
            var end = Math.Min(_count, (chunk + 1) * ChunkSize);
            for (var i = chunk * ChunkSize; i < end; i++)
            {
                _plain[i] = PlainJson.IsPlain(_payloadAt(i).Span);
            }
        }
        finally
        {
            // A chunk that failed half-way keeps false (not plain) for the rest: queries over it then run in memory, which
            // is always correct. The writer must never wait on it forever.
            Volatile.Write(ref _chunkDone[chunk], 1);
        }

        return true;
    }

    private void Work()
    {
        try
        {
            while (!_abandoned && ComputeNextChunk())
            {
            }
        }
#pragma warning disable CA1031 // A worker's failure must not end the process; its chunk is marked done (not plain) and the writer carries on.
        catch (Exception)
#pragma warning restore CA1031
        {
        }
    }
}
