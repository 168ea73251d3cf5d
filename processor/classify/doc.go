// Package classify decides the os_type a request is counted under, from its
// os query parameter and its User-Agent.
//
// The package guarantees that:
//
//   - OSType never panics and never returns "".
//   - A sane os parameter (1 to 32 bytes of [A-Za-z0-9._-]) wins and is
//     returned exactly as sent, case included, because the reference Kafka
//     Streams application groups by the raw value. This holds with user
//     buckets too.
//   - Otherwise the User-Agent decides, in this order: the user's buckets
//     (WithBuckets), in the order given, the first with a needle in the
//     User-Agent naming the os_type; then, unless WithoutBuiltins, Bot for
//     a crawler, then the built-in platform rules, first match wins; then
//     Other. The built-in buckets are Android, IOS, Windows, MacOS, Linux,
//     ChromeOS, Bot and Other.
//   - The built-in rules port ua-parser's (uap-core's regexes.yaml) to
//     substrings checked where they stand, so that the bucket is the one
//     ua-parser's answer maps to (see uaParserBucket in the tests) on at
//     least 99.9% of a corpus of real User-Agents and 99% of uap-core's own
//     OS test suites (testdata/SOURCES.md); where they differ on purpose,
//     rules.go and bot.go say why. ua-parser itself is not called at run
//     time: it is far too slow for a User-Agent it has not seen (README).
//   - A User-Agent is classified by its first 512 bytes (maxUALen), as if
//     it ended there, in one pass over them (two if a user bucket has a
//     one-byte needle), in time linear in their length whatever they hold,
//     without allocating. A Classifier remembers the buckets of its last 128 or so
//     User-Agents (recent.go), because real traffic repeats a few browsers;
//     one it has not seen costs a hash and a copy more than the scan, so an
//     attacker sending new ones gains little.
//   - Memory is bounded whatever the input: a Classifier keeps at most
//     maxInterned distinct parameter values, and allocates only when it
//     stores a new one, and the User-Agents it remembers take a fixed
//     36 KiB. Its rule table is immutable and shared by every
//     Classifier built from the same options (up to maxTables distinct
//     option sets are remembered).
//   - New panics on buckets that Validate rejects; configuration code calls
//     Validate first to report them.
package classify
