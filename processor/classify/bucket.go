package classify

import (
	"fmt"
	"slices"
)

// Bucket is a user-defined os_type: the first Bucket with a needle found in a
// User-Agent names its os_type.
type Bucket struct {
	Name     string   // the os_type; must be a sane os value (see isSaneParam)
	Contains []string // case-sensitive substrings, any of which selects it; each non-empty
}

// Option configures a Classifier.
type Option func(*config)

type config struct {
	buckets    []Bucket
	noBuiltins bool
}

// WithBuckets puts buckets, in order, before the built-in rules (which still
// apply after them unless WithoutBuiltins). A bucket may reuse a built-in
// name: {Name: "linux", Contains: ["CrOS"]} counts Chrome OS as linux.
// Several WithBuckets options append in the order given.
func WithBuckets(b ...Bucket) Option {
	b = cloneBuckets(b) // the caller may change its slices later
	return func(c *config) { c.buckets = append(c.buckets, b...) }
}

// BucketNames returns every os_type a Classifier built with opts can return
// other than an os parameter's value: the built-in buckets' names (Other
// among them) and the user's buckets'.
func BucketNames(opts ...Option) []string {
	var cfg config
	for _, o := range opts {
		o(&cfg)
	}
	names := slices.Clone(builtinNames[:])
	for _, b := range cfg.buckets {
		if !slices.Contains(names, b.Name) {
			names = append(names, b.Name)
		}
	}
	return names
}

// WithoutBuiltins leaves only the user's buckets: a User-Agent that none of
// them selects is Other.
func WithoutBuiltins() Option {
	return func(c *config) { c.noBuiltins = true }
}

// Validate reports the first bucket that New would reject, by index and
// name, and why. Names must be sane os values so that a bucket can never
// produce an os_type that a client's os parameter could not, and unique
// because a second bucket of the same name could never be told apart in the
// counts; needles must be non-empty because an empty needle is in every
// User-Agent and would silently swallow the rest of the rules.
func Validate(b []Bucket) error {
	seen := make(map[string]int, len(b))
	for i, bk := range b {
		switch {
		case bk.Name == "":
			return fmt.Errorf("bucket %d: empty name", i)
		case !isSaneParam([]byte(bk.Name)):
			return fmt.Errorf("bucket %d %q: name must be 1 to %d bytes of [A-Za-z0-9._-]", i, bk.Name, maxParamLen)
		case len(bk.Contains) == 0:
			return fmt.Errorf("bucket %d %q: no needles", i, bk.Name)
		}
		if j, dup := seen[bk.Name]; dup {
			return fmt.Errorf("bucket %d %q: duplicate name (also bucket %d)", i, bk.Name, j)
		}
		seen[bk.Name] = i
		for k, n := range bk.Contains {
			if n == "" {
				return fmt.Errorf("bucket %d %q: needle %d is empty", i, bk.Name, k)
			}
		}
	}
	return nil
}

func cloneBuckets(b []Bucket) []Bucket {
	out := make([]Bucket, len(b))
	for i, bk := range b {
		out[i] = Bucket{Name: bk.Name, Contains: slices.Clone(bk.Contains)}
	}
	return out
}
