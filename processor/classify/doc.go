// Package classify decides the os_type a request is counted under, from its
// os query parameter and its User-Agent.
//
// The package guarantees that:
//
//   - OSType never panics and never returns "".
//   - A sane os parameter (1 to 32 bytes of [A-Za-z0-9._-]) wins and is
//     returned exactly as sent, case included, because the reference Kafka
//     Streams application groups by the raw value.
//   - Otherwise the result is one of the six bucket constants, chosen from
//     the User-Agent by ordered substring rules.
//   - Memory is bounded whatever the input: a Classifier keeps at most
//     maxInterned distinct parameter values, and allocates only when it
//     stores a new one.
package classify
