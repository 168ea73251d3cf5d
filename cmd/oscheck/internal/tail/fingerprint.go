package tail

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
)

// A Position's fingerprint is the SHA-256 of the file's first FingerprintLen
// bytes, where FingerprintLen = min(Offset, FingerprintSize), and the length
// is stored in the Position beside the hash. Why this scheme:
//
//   - It covers only bytes already read, which a log file that is only
//     appended to never changes: it stays valid however the file grows. A
//     hash of "the first FingerprintSize bytes, or all of them while the file
//     is shorter" would change with every write to a short file, and a hash
//     only once the file reaches FingerprintSize would leave short files with
//     no check at all.
//   - It exists from the first line on, so even a young file is checked,
//     more weakly: over fewer bytes.
//   - Storing the length makes the check independent of the FingerprintSize
//     option in force when resuming.
//
// Together with Offset, it tells apart at resume: the same file grown (at
// least Offset bytes, same first bytes), a truncated file (fewer than Offset
// bytes), and another file, such as one that reused the inode or a
// copytruncated file that has grown past Offset again (first bytes differ;
// nginx lines start with a client address and a timestamp, so they do).
//
// While following, the Follower keeps the file's first bytes (up to
// FingerprintSize) and compares them with the file after every read and at
// every poll at the file's end, which is how it notices copytruncate even
// when the file has grown past the read offset again.

// fingerprint returns the hex SHA-256 of b.
func fingerprint(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// isFingerprint reports whether s has the form fingerprint returns.
func isFingerprint(s string) bool {
	if len(s) != 2*sha256.Size {
		return false
	}
	for i := range len(s) {
		if c := s[i]; (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}

// prefixMatches reports whether the first n bytes of r hash to fp. A file
// shorter than n does not match.
func prefixMatches(r io.ReaderAt, n int64, fp string) (bool, error) {
	if n == 0 {
		return true, nil
	}
	h := sha256.New()
	got, err := io.Copy(h, io.NewSectionReader(r, 0, n))
	if err != nil {
		return false, fmt.Errorf("reading the first %d bytes: %w", n, err)
	}
	return got == n && hex.EncodeToString(h.Sum(nil)) == fp, nil
}
