package classify

import (
	"bufio"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/ua-parser/uap-go/uaparser"
)

// corpusUA is a row of testdata/useragents.tsv (see testdata/SOURCES.md).
type corpusUA struct {
	source string
	weight int // parts per million of real browser traffic; 0 if unknown
	ua     string
}

func loadCorpus(tb testing.TB) []corpusUA {
	tb.Helper()
	f, err := os.Open("testdata/useragents.tsv")
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	var rows []corpusUA
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "#") {
			continue
		}
		fields := strings.SplitN(line, "\t", 3)
		if len(fields) != 3 {
			tb.Fatalf("malformed corpus line %q", line)
		}
		w, err := strconv.Atoi(fields[1])
		if err != nil {
			tb.Fatalf("corpus line %q: %v", line, err)
		}
		rows = append(rows, corpusUA{fields[0], w, fields[2]})
	}
	if err := sc.Err(); err != nil {
		tb.Fatal(err)
	}
	return rows
}

// uaParserBucket maps ua-parser's answer to a bucket. A Spider device is a
// bot whatever its os; otherwise the os family decides:
//
//   - the os_type is the vendor's operating system, so Windows Phone and
//     Windows Mobile are windows, Apple TV (ATV OS X, tvOS) and watchOS are
//     ios, classic Mac OS is macos, and Android TV Chromecasts are android;
//   - linux is Linux itself and its distributions, Cast firmware on Linux
//     included;
//   - platforms of their own (BSDs, Solaris, Kindle e-readers, KaiOS, Tizen,
//     webOS, BlackBerry, Symbian, Firefox OS, consoles) and the unknown are
//     other.
func uaParserBucket(p *uaparser.Parser, ua string) string {
	if p.ParseDevice(ua).Family == "Spider" {
		return Bot
	}
	return familyBucket(p.ParseOs(ua).Family)
}

// familyBucket maps ua-parser's os family to a bucket, as uaParserBucket
// says.
func familyBucket(family string) string {
	switch family {
	case "Android", "Chromecast Android":
		return Android
	case "iOS", "ATV OS X", "tvOS", "WatchOS":
		return IOS
	case "Windows", "Windows Phone", "Windows Mobile":
		return Windows
	case "Mac OS X", "Mac OS":
		return MacOS
	case "Chrome OS":
		return ChromeOS
	case "Linux", "Ubuntu", "Kubuntu", "Lubuntu", "Debian", "Fedora", "Red Hat", "CentOS", "Gentoo", "Slackware",
		"openSUSE", "SUSE", "Arch Linux", "Mageia", "PCLinuxOS", "Puppy", "BackTrack", "Linux Mint", "Mandriva",
		"Chromecast Linux", "Chromecast SmartSpeaker":
		return Linux
	}
	return Other
}

// uaParserBuckets labels uas in parallel: ua-parser tries hundreds of
// expressions per User-Agent, which the race detector slows twentyfold.
func uaParserBuckets(tb testing.TB, uas []string) []string {
	p, err := uaparser.New(uaparser.WithMode(uaparser.EOsLookUpMode | uaparser.EDeviceLookUpMode))
	if err != nil {
		tb.Fatal(err)
	}
	out := make([]string, len(uas))
	var wg sync.WaitGroup
	workers := runtime.GOMAXPROCS(0)
	for w := range workers {
		wg.Go(func() {
			for i := w; i < len(uas); i += workers {
				out[i] = uaParserBucket(p, uas[i])
			}
		})
	}
	wg.Wait()
	return out
}

const (
	minCorpus    = 3000
	minPerBucket = 30
	minAgreement = 0.999
)

func TestAgreesWithUAParser(t *testing.T) {
	rows := loadCorpus(t)
	uas := make([]string, len(rows))
	distinct := map[string]bool{}
	for i, r := range rows {
		uas[i] = r.ua
		distinct[r.ua] = true
	}
	if len(distinct) < minCorpus {
		t.Fatalf("corpus has %d distinct User-Agents, want at least %d", len(distinct), minCorpus)
	}
	want := uaParserBuckets(t, uas)
	c := New()
	type tally struct{ n, agree, claimed int }
	per := map[string]*tally{}
	for _, b := range builtinNames {
		per[b] = &tally{}
	}
	agree := 0
	for i, ua := range uas {
		got := c.OSType(nil, []byte(ua))
		per[want[i]].n++
		if got == want[i] {
			per[want[i]].agree++
			agree++
			continue
		}
		per[got].claimed++
		t.Logf("disagree: ours %-8s ua-parser %-8s %s: %q", got, want[i], rows[i].source, ua)
	}
	overall := float64(agree) / float64(len(uas))
	t.Logf("agreement %.2f%% (%d of %d)", 100*overall, agree, len(uas))
	for _, b := range builtinNames {
		s := per[b]
		t.Logf("  %-8s ua-parser %4d, we agree on %4d (%.1f%%), we alone say %s for %d", b, s.n, s.agree,
			100*float64(s.agree)/float64(max(s.n, 1)), b, s.claimed)
		if s.n < minPerBucket {
			t.Errorf("bucket %s has %d samples, want at least %d", b, s.n, minPerBucket)
		}
	}
	if overall < minAgreement {
		t.Errorf("agreement with ua-parser %.2f%%, want at least %.1f%%", 100*overall, 100*minAgreement)
	}
}

// The hand-written table's buckets are ua-parser's, except where a row says
// why not; a row that says so must still depart, or its note is stale.
func TestHandTableAgreesWithUAParser(t *testing.T) {
	uas := make([]string, len(userAgents))
	for i, tt := range userAgents {
		uas[i] = tt.ua
	}
	for i, theirs := range uaParserBuckets(t, uas) {
		tt := userAgents[i]
		switch {
		case tt.departs == "" && theirs != tt.want:
			t.Errorf("%q: want %s, ua-parser says %s and the row gives no reason", tt.ua, tt.want, theirs)
		case tt.departs != "" && theirs == tt.want:
			t.Errorf("%q: ua-parser agrees on %s now; the departure %q is stale", tt.ua, tt.want, tt.departs)
		}
	}
}
