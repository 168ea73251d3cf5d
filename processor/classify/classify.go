package classify

// The built-in os_type buckets a User-Agent can fall into.
const (
	Android  = "android"
	IOS      = "ios"
	Windows  = "windows"
	MacOS    = "macos"
	Linux    = "linux"
	ChromeOS = "chromeos"
	Bot      = "bot"
	Other    = "other"
)

// builtinNames are interned by every Classifier, so that a parameter naming
// a built-in bucket returns its constant.
var builtinNames = [...]string{Android, IOS, Windows, MacOS, Linux, ChromeOS, Bot, Other}

// Classifier holds the table of os parameter values seen so far, so that
// each is returned as the same string without allocating; the rule table
// it classifies User-Agents by, which it shares with every Classifier built
// from the same options; and the buckets of the User-Agents it saw last.
// It is not safe for concurrent use: give each partition goroutine its own.
type Classifier struct {
	interned map[string]string
	rules    *table
	recent   *recent
}

// New returns a Classifier with an empty table of parameter values and the
// rules the options give: by default the built-in rules alone.
//
// New panics if a WithBuckets option holds buckets that Validate rejects:
// configuration is checked by Validate when it is read, so a bad bucket here
// is a programming error, and a classifier that silently skipped it would
// count requests under the wrong os_type.
func New(opts ...Option) *Classifier {
	var cfg config
	for _, o := range opts {
		o(&cfg)
	}
	if err := Validate(cfg.buckets); err != nil {
		panic("classify: " + err.Error())
	}
	c := &Classifier{interned: make(map[string]string, maxInterned), rules: tableFor(cfg), recent: newRecent()}
	c.resetInterned()
	return c
}

// resetInterned empties the table of parameter values but for the
// built-in bucket names.
func (c *Classifier) resetInterned() {
	clear(c.interned)
	for _, s := range builtinNames {
		c.interned[s] = s
	}
}

// OSType returns the os_type of a request: the os param when present and
// sane, else the User-Agent's bucket.
func (c *Classifier) OSType(osParam, userAgent []byte) string {
	if isSaneParam(osParam) {
		return c.intern(osParam)
	}
	return c.recent.bucket(c.rules, userAgent)
}
