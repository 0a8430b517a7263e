// Every test here talks to a real redis-server started by the test run. scripts/test.sh always runs them on Linux
// (installing Redis when it is missing); on Windows and macOS without a redis-server it runs everything else and says
// that this category was left out.
[assembly: Trait("Category", "RequiresRedisServer")]
