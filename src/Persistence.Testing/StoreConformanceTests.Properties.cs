using System.Buffers;
using System.Text;
using System.Text.Json;
using CsCheck;

namespace Persistence.Testing;

public abstract partial class StoreConformanceTests
{
    private int _propertyCase;

    /// <summary>
    /// Generated JSON documents and strings survive a put and a get: the serializer's payload byte for byte and as the same
    /// document (<c>ToJson</c>), JSON text with its own escapes and spacing on JSON stores, and arbitrary text as opaque
    /// bytes. A store may refuse a value at put with <see cref="PersistenceException"/> or <see cref="ArgumentException"/>;
    /// it may never change one. Cases: <c>PERSISTENCE_PROPERTY_CASES</c>, 100 by default.
    /// </summary>
    /// <returns>A task that completes when every case held.</returns>
    [Fact]
    public Task Property_GeneratedValues_RoundTripThroughPutAndGet()
        => RoundTripPropertyAsync(PropertyGenerators.Document);

    /// <summary>
    /// Documents that hold escaped unpaired surrogates (<c>{"t":"\ud83d"}</c>, valid JSON text) round-trip as the other
    /// generated documents do, or are refused at put with a clear exception.
    /// </summary>
    /// <returns>A task that completes when every case held.</returns>
    [Fact]
    public Task Property_DocumentsWithLoneSurrogateEscapes_RoundTripThroughPutAndGet()
        => RoundTripPropertyAsync(PropertyGenerators.DocumentWithLoneSurrogates);

    private async Task RoundTripPropertyAsync(Gen<string> documents)
    {
        var float64 = PropertyChecks.NumbersAreFloat64(Store.Serializer);
        await PropertyChecks.RunAsync(
            Gen.Select(PropertyGenerators.Key, documents, PropertyGenerators.TextWithLoneSurrogates),
            async input =>
            {
                var (key, json, text) = input;
                if (Store.Serializer.Format == "json" && await TryPutAsync("props-json", key, () => Utf8(json)) is { } raw)
                {
                    var entry = await Store.GetAsync("props-json", key, Token);
                    AssertPayload(raw, entry, "(the generated JSON text)");
                    AssertSameDocument(json, Store.Serializer.ToJson(entry!.Payload), float64, "ToJson of the stored JSON text");
                }

                if (await TryPutAsync("props-doc", key, () => FromJsonText(json)) is { } payload)
                {
                    var entry = await Store.GetAsync("props-doc", key, Token);
                    AssertPayload(payload, entry, "(the serializer's payload of the generated document)");
                    AssertSameDocument(json, Store.Serializer.ToJson(entry!.Payload), float64, "ToJson of the stored payload");
                }

                if (await TryPutAsync("props-bytes", key, () => Utf8(text)) is { } bytes)
                {
                    AssertPayload(bytes, await Store.GetAsync("props-bytes", key, Token), "(generated text as opaque bytes)");
                }
            },
            input => $"key {PropertyChecks.Readable(input.Item1)}, document {PropertyChecks.Readable(input.Item2)}, text {PropertyChecks.Readable(input.Item3)}",
            PropertyChecks.Cases());
    }

    /// <summary>
    /// Generated strings and documents survive the typed layer: <c>PutAsync&lt;T&gt;</c> then <c>GetAsync&lt;T&gt;</c> gives
    /// back equal strings (ordinal) and, on JSON serializers, the same <see cref="JsonElement"/> document.
    /// </summary>
    /// <returns>A task that completes when every case held.</returns>
    [Fact]
    public async Task Property_GeneratedValues_RoundTripThroughTypedLayer()
    {
        var withDocument = Store.Serializer.Format == "json";
        await PropertyChecks.RunAsync(
            Gen.Select(PropertyGenerators.Text, PropertyGenerators.Text.Array[0, 4], PropertyGenerators.Document),
            async input =>
            {
                var (name, tags, json) = input;
                using var data = JsonDocument.Parse(json);
                var item = new ConformanceDocument { Name = name, Tags = tags, Data = withDocument ? data.RootElement : null };
                try
                {
                    await Store.PutAsync("props-typed", "item", item, cancellationToken: Token);
                }
                catch (Exception e) when (IsRefusal(e))
                {
                    return;
                }

                var read = await Store.GetAsync<ConformanceDocument>("props-typed", "item", Token);
                Assert.NotNull(read);
                Assert.True(string.Equals(name, read.Name, StringComparison.Ordinal), $"Name: put {PropertyChecks.Readable(name)}, got {PropertyChecks.Readable(read.Name)}");
                Assert.True(tags.SequenceEqual(read.Tags ?? [], StringComparer.Ordinal), $"Tags: put [{string.Join(", ", tags.Select(PropertyChecks.Readable))}], got [{string.Join(", ", (read.Tags ?? []).Select(PropertyChecks.Readable))}]");
                if (withDocument)
                {
                    // A JSON null in a nullable member reads back as no value.
                    Assert.True(read.Data.HasValue || json == "null", "Data: put a document, got none");
                    if (read.Data.HasValue)
                    {
                        AssertSameDocument(json, read.Data.Value, false, "the typed Data member");
                    }
                }
            },
            input => $"name {PropertyChecks.Readable(input.Item1)}, tags [{string.Join(", ", input.Item2.Select(PropertyChecks.Readable))}], data {PropertyChecks.Readable(input.Item3)}",
            PropertyChecks.Cases());
    }

    /// <summary>
    /// A query <c>Where("name", Equal, s)</c> finds exactly the records whose <c>name</c> is <c>s</c> (ordinally), for generated
    /// strings — controls, ambiguous scalars, edge whitespace and near-duplicates included — on every store.
    /// </summary>
    /// <returns>A task that completes when every case held.</returns>
    [Fact]
    public Task Property_QueryEqual_FindsExactlyTheRecordsWithTheString()
        => QueryEqualPropertyAsync(PropertyGenerators.Text);

    /// <summary>As <see cref="Property_QueryEqual_FindsExactlyTheRecordsWithTheString"/>, for strings that hold unpaired surrogates (escaped in the documents and in the query value).</summary>
    /// <returns>A task that completes when every case held.</returns>
    [Fact]
    public Task Property_QueryEqualOnLoneSurrogates_FindsExactlyTheRecordsWithTheString()
        => QueryEqualPropertyAsync(Gen.Select(PropertyGenerators.Text, Gen.Int[0xD800, 0xDFFF], (text, surrogate) => text + (char)surrogate));

    private async Task QueryEqualPropertyAsync(Gen<string> strings)
    {
        // Near-duplicates: the same text with a space, a case change or a normalization form apart.
        var values = strings.SelectMany(s => Gen.OneOf(s, s + " ", " " + s, s.ToUpperInvariant(), Decomposed(s), "x")
            .Array[1, 4].Select(more => more.Prepend(s).ToArray()));
        await PropertyChecks.RunAsync(
            values,
            async names =>
            {
                var collection = $"props-query-{Interlocked.Increment(ref _propertyCase)}";
                var stored = new Dictionary<string, string>(StringComparer.Ordinal);
                for (var i = 0; i < names.Length; i++)
                {
                    var key = $"k{i}";
                    // JSON stores take the document as JSON text, so a serializer that cannot write it does not hide the query.
                    var json = $"{{\"name\":{PropertyGenerators.JsonString(names[i])},\"n\":{i}}}";
                    if (await TryPutAsync(collection, key, () => Store.Serializer.Format == "json" ? Utf8(json) : FromJsonText(json)) is not null)
                    {
                        stored[key] = names[i];
                    }
                }

                foreach (var name in names.Distinct(StringComparer.Ordinal))
                {
                    using var value = JsonDocument.Parse(PropertyGenerators.JsonString(name));
                    var expected = stored.Where(p => string.Equals(p.Value, name, StringComparison.Ordinal)).Select(p => p.Key).Order(StringComparer.Ordinal).ToList();
                    var found = await QueryKeysAsync(collection, new Query().Where("name", QueryOperator.Equal, value.RootElement));
                    found.Sort(StringComparer.Ordinal);
                    Assert.True(expected.SequenceEqual(found), $"Where(name == {PropertyChecks.Readable(name)}) found [{string.Join(", ", found)}], expected [{string.Join(", ", expected)}]");
                }
            },
            names => $"names [{string.Join(", ", names.Select(PropertyChecks.Readable))}]",
            PropertyChecks.Cases());
    }

    // The canonical decomposition, or the string itself where .NET cannot normalize it (unpaired surrogates, unassigned code points).
    private static string Decomposed(string s)
    {
        try
        {
            return s.Normalize(NormalizationForm.FormD);
        }
        catch (ArgumentException)
        {
            return s;
        }
    }

    // Whether an exception is a clear refusal of a value (allowed) rather than a failure.
    private static bool IsRefusal(Exception e) => e is PersistenceException or ArgumentException or NotSupportedException && e is not ConcurrencyConflictException;

    // Puts the payload made by the factory; null when the serializer or the store refused it with a clear exception,
    // in which case nothing may have been written.
    private async Task<byte[]?> TryPutAsync(string collection, string key, Func<byte[]> payload)
    {
        var before = await Store.GetAsync(collection, key, Token);
        byte[] bytes;
        try
        {
            bytes = payload();
            await Store.PutAsync(collection, key, bytes, cancellationToken: Token);
            return bytes;
        }
        catch (Exception e) when (IsRefusal(e))
        {
            var after = await Store.GetAsync(collection, key, Token);
            Assert.True(before?.Version == after?.Version, $"A refused put ({e.GetType().Name}: {e.Message}) changed the record from version {before?.Version} to {after?.Version}.");
            return null;
        }
    }

    private byte[] FromJsonText(string json)
    {
        using var parsed = JsonDocument.Parse(json, new JsonDocumentOptions { MaxDepth = 256 });
        var buffer = new ArrayBufferWriter<byte>();
        Store.Serializer.FromJson(buffer, parsed.RootElement);
        return buffer.WrittenMemory.ToArray();
    }

    private static void AssertSameDocument(string expected, JsonElement actual, bool float64, string what)
    {
        if (PropertyChecks.JsonDifference(expected, actual, float64) is { } difference)
        {
            Assert.Fail($"{what} is not the generated document: {difference}.");
        }
    }
}
