package classify

// The os_type buckets a User-Agent can fall into.
const (
	Android = "android"
	IOS     = "ios"
	Windows = "windows"
	MacOS   = "macos"
	Linux   = "linux"
	Other   = "other"
)

// Classifier holds the table of os parameter values seen so far, so that
// each is returned as the same string without allocating. It is not safe
// for concurrent use: give each partition goroutine its own.
type Classifier struct {
	interned map[string]string
}

// New returns a Classifier with an empty table of parameter values.
func New() *Classifier {
	c := &Classifier{interned: make(map[string]string, maxInterned)}
	for _, s := range []string{Android, IOS, Windows, MacOS, Linux, Other} {
		c.interned[s] = s
	}
	return c
}

// OSType returns the os_type of a request: the os param when present and
// sane, else the UA bucket.
func (c *Classifier) OSType(osParam, userAgent []byte) string {
	if isSaneParam(osParam) {
		return c.intern(osParam)
	}
	return uaBucket(userAgent)
}
