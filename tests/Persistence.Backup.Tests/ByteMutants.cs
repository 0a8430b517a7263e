namespace Persistence.Backup.Tests;

/// <summary>
/// Mutants of a byte string, for the tests that hold a fast reader to its reference on generated input: one to a given
/// number of edits, each a byte of an alphabet inserted, a byte deleted, or a byte replaced, at a random position.
/// </summary>
internal static class ByteMutants
{
    public static byte[] Of(byte[] seed, Random random, byte[] alphabet, int maxEdits)
    {
        var bytes = seed.ToList();
        for (var edits = random.Next(1, maxEdits + 1); edits > 0; edits--)
        {
            var at = random.Next(bytes.Count + 1);
            switch (random.Next(3))
            {
                case 0:
                    bytes.Insert(at, alphabet[random.Next(alphabet.Length)]);
                    break;
                case 1 when at < bytes.Count:
                    bytes.RemoveAt(at);
                    break;
                default:
                    if (at < bytes.Count)
                    {
                        bytes[at] = alphabet[random.Next(alphabet.Length)];
                    }

                    break;
            }
        }

        return [.. bytes];
    }
}
