namespace Persistence.Testing;

public abstract partial class StoreConformanceTests
{
    /// <summary>An empty payload round-trips as empty.</summary>
    /// <returns>A task that completes when the test is done.</returns>
    [Fact]
    public async Task PutAsync_EmptyPayload_RoundTrips()
    {
        await Store.PutAsync("payloads", "empty", ReadOnlyMemory<byte>.Empty, cancellationToken: Token);

        var entry = await Store.GetAsync("payloads", "empty", Token);

        Assert.NotNull(entry);
        Assert.Equal(0, entry.Payload.Length);
    }

    /// <summary>A 1 MB payload round-trips byte for byte.</summary>
    /// <returns>A task that completes when the test is done.</returns>
    [Fact]
    public async Task PutAsync_OneMegabytePayload_RoundTrips()
    {
        var payload = new byte[1024 * 1024];
        for (var i = 0; i < payload.Length; i++)
        {
            payload[i] = (byte)((i * 31) ^ (i >> 8));
        }

        await Store.PutAsync("payloads", "big", payload, cancellationToken: Token);

        AssertPayload(payload, await Store.GetAsync("payloads", "big", Token));
        AssertPayload(payload, (await ScanAllAsync("payloads")).Single());
    }

    /// <summary>Binary payloads (every byte value, invalid UTF-8, NUL bytes) round-trip byte for byte.</summary>
    /// <returns>A task that completes when the test is done.</returns>
    [Fact]
    public async Task PutAsync_BinaryPayload_RoundTrips()
    {
        var everyByte = Enumerable.Range(0, 256).Select(i => (byte)i).ToArray();
        byte[] invalidUtf8 = [0xC3, 0x28, 0xA0, 0xA1, 0xE2, 0x28, 0xA1, 0xF0, 0x28, 0x8C, 0xBC, 0xFF, 0xFE, 0xC0, 0xAF, 0xED, 0xA0, 0x80];
        byte[] bom = [0xEF, 0xBB, 0xBF, 0x00, 0x00, 0x7B, 0x7D];
        byte[] lineEndings = [0x0D, 0x0A, 0x0A, 0x0D, 0x09, 0x20];

        await Store.PutAsync("payloads", "every-byte", everyByte, cancellationToken: Token);
        await Store.PutAsync("payloads", "invalid-utf8", invalidUtf8, cancellationToken: Token);
        await Store.PutAsync("payloads", "bom", bom, cancellationToken: Token);
        await Store.PutAsync("payloads", "line-endings", lineEndings, cancellationToken: Token);

        AssertPayload(everyByte, await Store.GetAsync("payloads", "every-byte", Token));
        AssertPayload(invalidUtf8, await Store.GetAsync("payloads", "invalid-utf8", Token));
        AssertPayload(bom, await Store.GetAsync("payloads", "bom", Token));
        AssertPayload(lineEndings, await Store.GetAsync("payloads", "line-endings", Token));
    }

    /// <summary>JSON documents round-trip byte for byte, whitespace and escapes included, whether written by hand or by the store's serializer.</summary>
    /// <returns>A task that completes when the test is done.</returns>
    [Fact]
    public async Task PutAsync_JsonDocument_RoundTripsExactly()
    {
        var handWritten = Utf8("{\n  \"name\" : \"caf\\u00e9 \\\"quoted\\\"\",\r\n\t\"n\": 1.50, \"big\": 12345678901234567890,\n  \"nested\": {\"list\": [1, \"two\", null, true]} }\n");
        var serialized = Document("""{"name":"日本 😀","n":2,"metadata":{"author":"ann"},"tags":["a","b"]}""");

        await Store.PutAsync("payloads", "hand", handWritten, cancellationToken: Token);
        await Store.PutAsync("payloads", "serialized", serialized, cancellationToken: Token);

        AssertPayload(handWritten, await Store.GetAsync("payloads", "hand", Token));
        AssertPayload(serialized, await Store.GetAsync("payloads", "serialized", Token));
        var documents = await ScanAllAsync("payloads");
        AssertPayload(handWritten, documents.Single(e => e.Key == "hand"), "in a scan");
        AssertPayload(serialized, documents.Single(e => e.Key == "serialized"), "in a scan");
    }

    /// <summary>Changing the caller's buffer after a put, a batch commit or an import does not change the stored data.</summary>
    /// <returns>A task that completes when the test is done.</returns>
    [Fact]
    public async Task PutAsync_CallerMutatesBufferAfterWrite_StoredDataUnchanged()
    {
        var buffer = Utf8("original");
        var expected = Utf8("original");
        await Store.PutAsync("payloads", "put", buffer, cancellationToken: Token);
        Array.Fill(buffer, (byte)'X');
        AssertPayload(expected, await Store.GetAsync("payloads", "put", Token), "after the caller changed its buffer");

        var batchBuffer = Utf8("original");
        await Store.CommitAsync(new WriteBatch().Put("payloads", "batch", batchBuffer), Token);
        Array.Fill(batchBuffer, (byte)'Y');
        AssertPayload(expected, await Store.GetAsync("payloads", "batch", Token), "after the caller changed its batch buffer");

        var importBuffer = Utf8("original");
        await Store.ImportAsync([new StoreEntry("payloads", "import", importBuffer, 1, StartTime, StartTime, null)], ImportMode.Overwrite, Token);
        Array.Fill(importBuffer, (byte)'Z');
        AssertPayload(expected, await Store.GetAsync("payloads", "import", Token), "after the caller changed its import buffer");
    }

    /// <summary>Overwriting a record with a shorter payload leaves no trace of the longer one.</summary>
    /// <returns>A task that completes when the test is done.</returns>
    [Fact]
    public async Task PutAsync_ShorterPayloadOverLongerOne_ReturnsOnlyNewPayload()
    {
        await Store.PutAsync("payloads", "k", Utf8(new string('x', 10_000)), cancellationToken: Token);
        await Store.PutAsync("payloads", "k", Utf8("short"), cancellationToken: Token);

        AssertPayload(Utf8("short"), await Store.GetAsync("payloads", "k", Token));
    }
}
