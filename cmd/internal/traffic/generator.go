package traffic

import (
	"math/rand/v2"
	"strconv"
	"time"
)

// appLineShare is the percentage of lines written by the reference app's own
// clients, which name their OS in an os_type query parameter; the rest are
// browsers, apps and crawlers identified only by their User-Agent.
const appLineShare = 40

// pcgStream is fixed so that a seed alone determines the output.
const pcgStream = 0x6f73636865636b // "oscheck"

// Generator produces synthetic access-log lines. It is not safe for
// concurrent use; give each goroutine its own.
type Generator struct {
	r *rand.Rand
}

// NewGenerator returns a Generator whose output is a pure function of seed
// and the times passed to Append.
func NewGenerator(seed int64) *Generator {
	return &Generator{r: rand.New(rand.NewPCG(uint64(seed), pcgStream))}
}

// Append appends one nginx access-log line (without a trailing newline) for
// a request at time t to dst, and returns the extended slice together with
// the os_type the request must be counted under.
func (g *Generator) Append(dst []byte, t time.Time) (line []byte, osType string) {
	line, req := g.AppendRequest(dst, t)
	return line, req.OSType
}

// Request is the HTTP request a generated line records: what a client sends
// so that a web server logs a line like it, and the os_type to count it
// under. The server, not the line, decides the address, time, protocol,
// status and size it logs.
type Request struct {
	Method string // GET, POST or HEAD
	// Target is the path and query as the line shows them. It aliases the
	// line, so it is valid only as long as the line is.
	Target []byte
	// UserAgent is "" when the client sends none, as the reference app's
	// clients, whose lines are in the common format, and the clients the
	// combined format logs with "-".
	UserAgent string
	OSType    string
}

// AppendRequest is Append that also returns the request the line records,
// for load generators that send it to a real server. For the same seed and
// times, Append and AppendRequest produce the same lines.
func (g *Generator) AppendRequest(dst []byte, t time.Time) ([]byte, Request) {
	if g.r.Uint32N(100) < appLineShare {
		return g.appendAppLine(dst, t)
	}
	return g.appendBrowserLine(dst, t)
}

// firstOctets are public prefixes of large Chinese ISPs, to match the
// reference log's +0800 zone.
var firstOctets = [...]byte{36, 39, 58, 59, 60, 61, 101, 106, 111, 112, 113, 114, 115, 116, 117, 119, 120, 121, 122, 123, 124, 125, 180, 182, 183, 202, 203, 210, 211, 218, 219, 220, 221, 222, 223}

// appendIP appends a client address. A third are 10/8 addresses like the
// reference log's, as seen behind an internal load balancer.
func (g *Generator) appendIP(dst []byte) []byte {
	if g.r.Uint32N(3) == 0 {
		dst = append(dst, "10"...)
	} else {
		dst = strconv.AppendUint(dst, uint64(firstOctets[g.r.IntN(len(firstOctets))]), 10)
	}
	for i := 0; i < 2; i++ {
		dst = append(dst, '.')
		dst = strconv.AppendUint(dst, uint64(g.r.Uint32N(256)), 10)
	}
	dst = append(dst, '.')
	return strconv.AppendUint(dst, uint64(1+g.r.Uint32N(254)), 10)
}

var statuses = newWeighted(
	choice[int]{860, 200},
	choice[int]{50, 304},
	choice[int]{20, 302},
	choice[int]{40, 404},
	choice[int]{10, 499},
	choice[int]{10, 500},
	choice[int]{10, 502},
)

// appendStatusAndBytes appends nginx's "$status $body_bytes_sent". Sizes
// are skewed small, as most responses are JSON or small assets.
func (g *Generator) appendStatusAndBytes(dst []byte) []byte {
	status := statuses.pick(g.r)
	dst = strconv.AppendInt(dst, int64(status), 10)
	dst = append(dst, ' ')
	var size uint32
	switch status {
	case 304, 499:
		size = 0
	case 302, 404, 500, 502:
		size = 150 + g.r.Uint32N(400)
	default:
		size = 200 + g.r.Uint32N(1+g.r.Uint32N(60000))
	}
	return strconv.AppendUint(dst, uint64(size), 10)
}
