package classify

// maxParamLen is longer than any real os name; longer values are junk or
// attacks and fall back to the User-Agent.
const maxParamLen = 32

// maxInterned bounds the distinct parameter values one Classifier keeps.
// Values are attacker-controlled: a flood of distinct junk must not grow
// memory without limit. Real clients send a handful of values, so 1024 (the
// bucket names included) leaves ample room before the bound matters. The
// table only saves allocations: what a value counts as is decided
// downstream, per window (state.TypeBound), never by what this table holds.
const maxInterned = 1024

// paramByte is the byte set of a sane os parameter: enough for any os name
// or version ("ios", "Android_13", "harmony-os.4"), nothing that needs
// escaping in metrics, logs or Kafka keys.
var paramByte = func() (t [256]bool) {
	for c := 'a'; c <= 'z'; c++ {
		t[c] = true
		t[c-'a'+'A'] = true
	}
	for c := '0'; c <= '9'; c++ {
		t[c] = true
	}
	t['.'], t['_'], t['-'] = true, true, true
	return t
}()

func isSaneParam(b []byte) bool {
	if len(b) == 0 || len(b) > maxParamLen {
		return false
	}
	for _, c := range b {
		if !paramByte[c] {
			return false
		}
	}
	return true
}

// intern returns b as a string, allocating only the first time a value is
// seen since the table was last full: a full table starts again from the
// bucket names, so the values in use now are soon interned again.
func (c *Classifier) intern(b []byte) string {
	if s, ok := c.interned[string(b)]; ok { // string(b) in an index does not allocate
		return s
	}
	if len(c.interned) >= maxInterned {
		c.resetInterned()
	}
	s := string(b)
	c.interned[s] = s
	return s
}

// IsOSType reports whether s could be an os_type: 1 to 32 bytes of
// [A-Za-z0-9._-], as every sane os parameter and bucket name is.
func IsOSType(s string) bool { return isSaneParam([]byte(s)) }
