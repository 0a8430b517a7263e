using System.Text;
using FluentAssertions;
using Persistence.FileStorage;

namespace Persistence.FileStorage.Tests;

public sealed class JournalTests
{
    private static readonly string Root = Path.Join(Path.GetTempPath(), "journal-root");
    private static readonly string JournalPath = Path.Join(Root, ".journal");
    private static readonly string HashA = Journal.HashOf("a"u8);
    private static readonly string HashB = Journal.HashOf("b"u8);

    [Fact]
    public void Format_Steps_WritesDocumentedTextThatParsesBack()
    {
        Journal.Step[] steps =
        [
            new(Path.Join(Root, "left", ".abc.tmp"), Path.Join(Root, "left", "a.json"), HashA),
            new(null, Path.Join(Root, "right", "%4Frder.json")),
            new(Path.Join(Root, ".def.tmp"), Path.Join(Root, "store.json"), HashB),
        ];

        var bytes = Journal.Format(Root, steps);

        Encoding.UTF8.GetString(bytes).Should().Be(
            $"persistence-journal 2\nmove left/.abc.tmp left/a.json {HashA}\ndelete right/%4Frder.json\nmove .def.tmp store.json {HashB}\ncommit 3\n");
        Journal.Parse(Root, JournalPath, bytes).Should().Equal(steps);
    }

    [Fact]
    public void HashOf_Content_IsLowercaseSha256Hex()
    {
        Journal.HashOf("abc"u8).Should().Be("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    }

    [Fact]
    public void Parse_Format1Journal_ReadsMovesWithoutHash()
    {
        var steps = Journal.Parse(Root, JournalPath, Encoding.UTF8.GetBytes("persistence-journal 1\nmove left/.abc.tmp left/a.json\ncommit 1\n"));

        steps.Should().Equal(new Journal.Step(Path.Join(Root, "left", ".abc.tmp"), Path.Join(Root, "left", "a.json")));
    }

    [Theory]
    [InlineData("")]
    [InlineData("persistence-journal 3\ncommit 0\n")]
    [InlineData("persistence-journal 2\nmove a.tmp a.json\ncommit 1\n")]
    [InlineData("persistence-journal 2\nmove a.tmp a.json ABC\ncommit 1\n")]
    [InlineData("persistence-journal 1\nmove a.tmp a.json ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad\ncommit 1\n")]
    [InlineData("persistence-journal 1\nmove a.tmp a.json\n")]
    [InlineData("persistence-journal 1\nmove a.tmp a.json\ncommit 2\n")]
    [InlineData("persistence-journal 1\ncommit 0\nmove a.tmp a.json\n")]
    [InlineData("persistence-journal 1\nmove ../x.tmp a.json\ncommit 1\n")]
    [InlineData("persistence-journal 1\ndelete a/b/c.json\ncommit 1\n")]
    [InlineData("persistence-journal 1\ndelete C:\\x.json\ncommit 1\n")]
    [InlineData("persistence-journal 1\ndelete /etc/passwd\ncommit 1\n")]
    [InlineData("persistence-journal 1\nmove a.tmp\ncommit 1\n")]
    [InlineData("persistence-journal 1\ncopy a.tmp a.json\ncommit 1\n")]
    public void Parse_IncompleteOrUnsafeJournal_ThrowsCorruptedNamingIt(string text)
    {
        var act = () => Journal.Parse(Root, JournalPath, Encoding.UTF8.GetBytes(text));

        act.Should().Throw<StoreCorruptedException>().Which.Path.Should().Be(JournalPath);
    }

    [Fact]
    public void Parse_InvalidUtf8_ThrowsCorrupted()
    {
        var act = () => Journal.Parse(Root, JournalPath, [0xFF, 0xFE, 0x0A]);

        act.Should().Throw<StoreCorruptedException>();
    }
}
