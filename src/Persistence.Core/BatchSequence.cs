using System.Runtime.InteropServices;

namespace Persistence;

/// <summary>
/// For store implementations: what a batch that names some key more than once does, its operations applied in order.
/// Each expected version is checked against the state the earlier operations of the batch leave (a put on version v
/// makes v + 1, a put on a missing key makes 1, a delete forgets the key, a check asserts the current state), and each
/// key ends with one effect: that of its last put or delete.
/// </summary>
/// <remarks>
/// <para>
/// A store reads the live version of each key once, at the key's first operation (<see cref="FirstOf"/>), calls
/// <see cref="Resolve"/> before it writes anything, then applies only the operations that <see cref="Writes"/> names, one
/// per key, each put at the version <see cref="Resolve"/> gave it and keeping the stored record's <c>CreatedAt</c> only
/// when <see cref="KeepsCreatedAt"/> says so. Every other operation only has its result.
/// </para>
/// <para>A batch whose keys all differ gets no sequence (<see cref="Of"/> returns <see langword="null"/>): the store applies
/// each operation against the state before the batch, which is the same thing, at no extra cost.</para>
/// </remarks>
public sealed class BatchSequence
{
    private readonly IReadOnlyList<BatchOperation> _operations;
    private readonly int[] _first;
    private readonly bool[] _writes;
    private bool[]? _keepsCreatedAt;

    private BatchSequence(IReadOnlyList<BatchOperation> operations, int[] first, bool[] writes)
    {
        _operations = operations;
        _first = first;
        _writes = writes;
    }

    /// <summary>Gets the sequence of a batch's operations when some key has more than one of them.</summary>
    /// <param name="operations">The operations, in order.</param>
    /// <returns>The sequence, or <see langword="null"/> when every (collection, key) appears once.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="operations"/> is <see langword="null"/>.</exception>
    public static BatchSequence? Of(IReadOnlyList<BatchOperation> operations)
    {
        ArgumentNullException.ThrowIfNull(operations);

        // A write batch already knows, so the usual batch costs nothing here.
        if (operations is BatchOperationList { RepeatsKeys: false })
        {
            return null;
        }

        var firstByKey = new Dictionary<(string Collection, string Key), int>(operations.Count);
        var first = new int[operations.Count];
        var repeats = false;
        for (var i = 0; i < operations.Count; i++)
        {
            ref var slot = ref CollectionsMarshal.GetValueRefOrAddDefault(firstByKey, (operations[i].Collection, operations[i].Key), out var exists);
            if (exists)
            {
                repeats = true;
            }
            else
            {
                slot = i;
            }

            first[i] = slot;
        }

        if (!repeats)
        {
            return null;
        }

        // A key's last put or delete leaves the state the whole sequence leaves: it is the one write the store applies.
        var lastWrite = new int[operations.Count];
        Array.Fill(lastWrite, -1);
        for (var i = 0; i < operations.Count; i++)
        {
            if (operations[i].Kind != BatchOperationKind.Check)
            {
                lastWrite[first[i]] = i;
            }
        }

        var writes = new bool[operations.Count];
        for (var i = 0; i < operations.Count; i++)
        {
            writes[i] = lastWrite[first[i]] == i;
        }

        return new BatchSequence(operations, first, writes);
    }

    /// <summary>Gets the position of the first operation on the same (collection, key) as an operation: where the store reads the key.</summary>
    /// <param name="operation">The operation's position in the batch.</param>
    /// <returns>The first position of its key; <paramref name="operation"/> itself for the key's first operation.</returns>
    public int FirstOf(int operation) => _first[operation];

    /// <summary>
    /// Gets whether an operation is the last put or delete of its key, the one the store applies; the others are not
    /// applied (their effect is included in it).
    /// </summary>
    /// <param name="operation">The operation's position in the batch.</param>
    /// <returns><see langword="true"/> to apply the operation.</returns>
    public bool Writes(int operation) => _writes[operation];

    /// <summary>
    /// Gets whether a put replaces the record that was live before the batch, with no delete of it earlier in the batch,
    /// so it keeps that record's <c>CreatedAt</c>; otherwise the put creates its record and <c>CreatedAt</c> is the commit time.
    /// </summary>
    /// <param name="operation">The position of a put in the batch.</param>
    /// <returns><see langword="true"/> to keep the stored <c>CreatedAt</c>.</returns>
    /// <exception cref="InvalidOperationException"><see cref="Resolve"/> has not been called.</exception>
    public bool KeepsCreatedAt(int operation)
        => (_keepsCreatedAt ?? throw new InvalidOperationException("A sequence knows which puts keep CreatedAt once it is resolved."))[operation];

    /// <summary>
    /// Runs the operations in order over the live versions the store read: checks every expected version against the state
    /// the earlier operations leave and gives each operation its result.
    /// </summary>
    /// <param name="versions">
    /// On entry, at each key's first position (<see cref="FirstOf"/>), the key's live version before the batch (0 when
    /// missing or expired); other positions are ignored. On return, every operation's result: the new version for a put,
    /// the deleted version (0 when nothing existed) for a delete, the current version (0 when missing) for a check.
    /// </param>
    /// <exception cref="ArgumentException"><paramref name="versions"/> does not have one element per operation.</exception>
    /// <exception cref="ConcurrencyConflictException">
    /// An operation's expected version differs from the version its key has at that point of the batch (the first such
    /// operation is named; its actual version is <see langword="null"/> when the key is missing at that point).
    /// </exception>
    public void Resolve(Span<long> versions)
    {
        var count = _operations.Count;
        if (versions.Length != count)
        {
            throw new ArgumentException($"The sequence has {count} operations but {versions.Length} versions were given.", nameof(versions));
        }

        // Per key, at its first position: the version it has at the current point, and whether it was live before the
        // batch and not deleted since (a put then keeps its CreatedAt).
        var current = new long[count];
        var original = new bool[count];
        var keeps = new bool[count];
        for (var i = 0; i < count; i++)
        {
            var first = _first[i];
            if (first == i)
            {
                current[i] = versions[i];
                original[i] = versions[i] > 0;
            }

            var operation = _operations[i];
            var version = current[first];
            if (operation.ExpectedVersion is { } expected && expected != version)
            {
                throw new ConcurrencyConflictException(operation.Collection, operation.Key, expected, version == 0 ? null : version);
            }

            switch (operation.Kind)
            {
                case BatchOperationKind.Put:
                    keeps[i] = original[first];
                    current[first] = versions[i] = version + 1;
                    break;
                case BatchOperationKind.Delete:
                    original[first] = false;
                    current[first] = 0;
                    versions[i] = version;
                    break;
                default:
                    versions[i] = version;
                    break;
            }
        }

        _keepsCreatedAt = keeps;
    }
}
