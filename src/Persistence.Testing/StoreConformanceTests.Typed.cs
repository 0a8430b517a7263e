using System.Text.Json;

namespace Persistence.Testing;

public abstract partial class StoreConformanceTests
{
    /// <summary>The typed PutAsync/GetAsync helpers round-trip an entity through the store's serializer.</summary>
    /// <returns>A task that completes when the test is done.</returns>
    [Fact]
    public async Task TypedPutAndGet_Entity_RoundTrips()
    {
        var item = new ConformanceItem { Id = "i1", Name = "Café 日本 😀", Count = 42 };

        Assert.Equal(1, await Store.PutAsync("typed", item.Id, item, cancellationToken: Token));
        var read = await Store.GetAsync<ConformanceItem>("typed", "i1", Token);

        Assert.NotNull(read);
        Assert.Equal(item.Id, read.Id);
        Assert.Equal(item.Name, read.Name);
        Assert.Equal(item.Count, read.Count);
        Assert.Null(await Store.GetAsync<ConformanceItem>("typed", "missing", Token));
    }

    /// <summary>A repository saves by key selector, reads documents with versions, updates optimistically, lists, queries and deletes.</summary>
    /// <returns>A task that completes when the test is done.</returns>
    [Fact]
    public async Task Repository_SaveGetUpdateListQueryDelete_Works()
    {
        var repository = Store.Repository<ConformanceItem>("typed-items", i => i.Id);
        for (var i = 1; i <= 5; i++)
        {
            Assert.Equal(1, await repository.SaveAsync(new ConformanceItem { Id = $"item-{i}", Name = $"name {i}", Count = i * 10 }, ct: Token));
        }

        var got = await repository.GetAsync("item-3", Token);
        Assert.Equal(30, got?.Count);
        Time.Advance(TimeSpan.FromSeconds(5));

        var updated = await repository.UpdateAsync("item-3", current => new ConformanceItem { Id = "item-3", Name = current!.Name, Count = current.Count + 1 }, Token);
        Assert.Equal(31, updated.Count);
        var document = await repository.GetDocumentAsync("item-3", Token);
        Assert.NotNull(document);
        Assert.Equal(2, document.Version);
        Assert.Equal(31, document.Value.Count);
        AssertTime(StartTime, document.CreatedAt, "CreatedAt of a repository document");
        AssertTime(Time.GetUtcNow(), document.UpdatedAt, "UpdatedAt of a repository document");

        var listed = new List<Document<ConformanceItem>>();
        await foreach (var item in repository.ListAsync(Token))
        {
            listed.Add(item);
        }

        Assert.Equal(["item-1", "item-2", "item-3", "item-4", "item-5"], listed.Select(d => d.Key));
        Assert.Equal([10, 20, 31, 40, 50], listed.Select(d => d.Value.Count));

        var countPath = PropertyName(new ConformanceItem { Id = "probe", Count = 1 }, nameof(ConformanceItem.Count));
        var queried = new List<string>();
        await foreach (var item in repository.QueryAsync(new Query().Where(countPath, QueryOperator.GreaterThan, 25).OrderByDescending(countPath), Token))
        {
            queried.Add(item.Key);
        }

        Assert.Equal(["item-5", "item-4", "item-3"], queried);
        Assert.True(await repository.DeleteAsync("item-1", ct: Token));
        Assert.Null(await repository.GetAsync("item-1", Token));
        Assert.Equal(4, await Store.CountAsync("typed-items", Token));
    }

    /// <summary>A committed transaction writes all its operations; a disposed one writes nothing; a failed check writes nothing.</summary>
    /// <returns>A task that completes when the test is done.</returns>
    [Fact]
    public async Task BeginTransaction_CommitAndDiscard_WriteAllOrNothing()
    {
        await Store.PutAsync("typed", "existing", new ConformanceItem { Id = "existing", Count = 1 }, cancellationToken: Token);

        await using (var tx = Store.BeginTransaction())
        {
            tx.Put("typed", "a", new ConformanceItem { Id = "a", Count = 1 })
              .Put("typed-other", "b", new ConformanceItem { Id = "b", Count = 2 }, new PutOptions { ExpectedVersion = 0 })
              .Delete("typed", "existing", 1);
            Assert.Equal([1L, 1L, 1L], await tx.CommitAsync(Token));
            Assert.True(tx.IsCommitted);
        }

        Assert.Equal(1, (await Store.GetAsync<ConformanceItem>("typed", "a", Token))?.Count);
        Assert.Equal(2, (await Store.GetAsync<ConformanceItem>("typed-other", "b", Token))?.Count);
        Assert.Null(await Store.GetAsync("typed", "existing", Token));

        await using (var discarded = Store.BeginTransaction())
        {
            discarded.Put("typed", "never", new ConformanceItem { Id = "never" }).Delete("typed", "a");
        }

        Assert.Null(await Store.GetAsync("typed", "never", Token));
        Assert.NotNull(await Store.GetAsync("typed", "a", Token));

        await using (var failing = Store.BeginTransaction())
        {
            failing.Put("typed", "c", new ConformanceItem { Id = "c" }).Check("typed-other", "b", 7);
            await Assert.ThrowsAsync<ConcurrencyConflictException>(async () => await failing.CommitAsync(Token));
        }

        Assert.Null(await Store.GetAsync("typed", "c", Token));
        Assert.Equal(["a"], await ScanKeysAsync("typed"));
    }

    // The name the store's serializer gives a property (naming policies differ between serializers).
    private string PropertyName(ConformanceItem probe, string property)
    {
        var buffer = new System.Buffers.ArrayBufferWriter<byte>();
        Store.Serializer.Serialize(buffer, probe);
        var document = Store.Serializer.ToJson(buffer.WrittenMemory);
        Assert.Equal(JsonValueKind.Object, document.ValueKind);
        foreach (var member in document.EnumerateObject())
        {
            if (string.Equals(member.Name, property, StringComparison.OrdinalIgnoreCase))
            {
                return member.Name;
            }
        }

        Assert.Fail($"The serializer '{Store.Serializer.Format}' wrote no property named like '{property}'.");
        return property;
    }
}
