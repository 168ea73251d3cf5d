package decode

import (
	"strings"
	"testing"
)

func TestOSParamOf(t *testing.T) {
	tests := []struct {
		request string
		want    string // "<nil>" for nil
	}{
		{"GET /p?os_type=ios HTTP/1.1", "ios"},
		{"GET /p?a=1&os_type=android&b=2 HTTP/1.1", "android"},
		{"GET /p?xos_type=1 HTTP/1.1", "<nil>"},
		{"GET /p?xos_type=1&os_type=ios HTTP/1.1", "ios"},
		{"GET /p?os_typex=1 HTTP/1.1", "<nil>"},
		{"GET /p?a=os_type=ios HTTP/1.1", "<nil>"},
		{"GET /p?os_type= HTTP/1.1", "<nil>"},
		{"GET /p?os_type&x=1 HTTP/1.1", "<nil>"},
		{"GET /p?os_type=&os_type=ios HTTP/1.1", "<nil>"}, // the first occurrence decides
		{"GET /p?os_type=ios&os_type=android HTTP/1.1", "ios"},
		{"GET /p?os_type=ios#frag HTTP/1.1", "ios"},
		{"GET /p#x?os_type=ios HTTP/1.1", "ios"}, // '#' before '?' is not a fragment of the query
		{"GET /p?q=1#os_type=ios HTTP/1.1", "<nil>"},
		{"GET /os_type=ios HTTP/1.1", "<nil>"},
		{"GET /p?os_type=Windows%20Phone HTTP/1.1", "Windows Phone"},
		{"GET /p?os_type=a+b HTTP/1.1", "a b"},
		{"GET /p?os_type=%69%4F%73 HTTP/1.1", "iOs"},
		{"GET /p?os_type=100% HTTP/1.1", "100%"},
		{"GET /p?os_type=%zz%4 HTTP/1.1", "%zz%4"},
		{"GET /p?os_type=%00 HTTP/1.1", "\x00"},
		{"GET /p?os_type=ios", "ios"},
		{"GET /p?os_type=ios  HTTP/1.1", "ios"},
		{"GET  /p?os_type=ios HTTP/1.1", "<nil>"},
		{"PROPFIND /p?os_type=ios HTTP/1.1", "ios"},
		{"VERSION-CONTROL /p?os_type=ios HTTP/1.1", "ios"},
		{"-", "<nil>"},
		{"", "<nil>"},
		{" /p?os_type=ios HTTP/1.1", "<nil>"},
		{"G3T /p?os_type=ios HTTP/1.1", "<nil>"},
		{"hello", "<nil>"},
	}
	d := NewDecoder("os_type")
	for _, tt := range tests {
		got := d.osParamOf([]byte(tt.request))
		s := string(got)
		if got == nil {
			s = "<nil>"
		}
		if s != tt.want {
			t.Errorf("osParamOf(%q) = %q, want %q", tt.request, s, tt.want)
		}
	}
}

// Undecoded values must alias the request rather than be copied.
func TestOSParamAliasesWhenUnescaped(t *testing.T) {
	d := NewDecoder("os_type")
	request := []byte("GET /p?os_type=ios HTTP/1.1")
	got := d.osParamOf(request)
	if !within(got, request) {
		t.Errorf("OSParam %q does not alias the request", got)
	}
	got = d.osParamOf([]byte("GET /p?os_type=i%6Fs HTTP/1.1"))
	if !within(got, d.paramBuf) {
		t.Errorf("decoded OSParam %q is not in the Decoder's buffer", got)
	}
}

// referenceQueryValue is the obvious split-at-'&' reading of a query
// string, for queryValue's search-based one to be checked against.
func referenceQueryValue(query, name string) (string, bool) {
	if name == "" {
		return "", false
	}
	for _, seg := range strings.Split(query, "&") {
		if k, v, found := strings.Cut(seg, "="); k == name {
			return v, found && v != ""
		}
	}
	return "", false
}

func FuzzQueryValue(f *testing.F) {
	f.Add("user_key=1&os_type=ios", "os_type")
	f.Add("xos_type=1&os_type=&os_type=2", "os_type")
	f.Add("a=os_type=1&os_type", "os_type")
	f.Add("os_typeos_type=1&&os_type=a=b", "os_type")
	f.Fuzz(func(t *testing.T, query, name string) {
		if strings.ContainsAny(name, "&=") {
			return // NewDecoder never passes such a name
		}
		got := queryValue([]byte(query), []byte(name))
		want, found := referenceQueryValue(query, name)
		if (len(got) > 0) != found || string(got) != want {
			t.Errorf("queryValue(%q, %q) = %q, want %q (found %v)", query, name, got, want, found)
		}
	})
}
