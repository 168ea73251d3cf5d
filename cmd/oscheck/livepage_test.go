package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/oscheck/oscheck/cmd/internal/testkit/proc"
	"github.com/oscheck/oscheck/cmd/internal/traffic"
)

// screenshotEnv names a path the live-page test also writes its screenshot
// to (README's picture: OSCHECK_LIVEPAGE_SCREENSHOT=$PWD/cmd/oscheck/internal/livepage/screenshot.png).
const screenshotEnv = "OSCHECK_LIVEPAGE_SCREENSHOT"

// pageState is what the live page shows, read from its DOM as a person
// reads it: the text of the table cells, the status line, the open windows.
type pageState struct {
	Conn      string `json:"conn"`
	Marker    bool   `json:"marker"` // set once by the test: still there, the page was not reloaded
	Late      string `json:"late"`
	Malformed string `json:"malformed"`
	Rows      []struct {
		Start  int64             `json:"start"`
		Final  bool              `json:"final"`
		State  string            `json:"state"`
		Counts map[string]string `json:"counts"`
	} `json:"rows"`
	Open []struct {
		Start    int64 `json:"start"`
		Reported int   `json:"reported"`
	} `json:"open"`
}

const readPage = `(() => {
  const text = (id) => (document.getElementById(id) || {}).textContent || "";
  return {
    conn: document.getElementById("conn").dataset.state || "",
    marker: window.__livepageTest === 1,
    late: text("rate-late-total"),
    malformed: text("rate-malformed-total"),
    rows: [...document.querySelectorAll("#windows tbody tr")].map((tr) => ({
      start: Number(tr.dataset.start), final: tr.dataset.final === "true", state: tr.cells[1].textContent,
      counts: Object.fromEntries([...tr.querySelectorAll("td[data-os]")].map((td) => [td.dataset.os, td.textContent])),
    })),
    open: [...document.querySelectorAll(".open-window")].map((d) => ({
      start: Number(d.dataset.start), reported: Number(d.dataset.reported),
      total: (d.querySelector(".total") || {}).textContent || "",
    })),
  };
})()`

// number reads a number as the page prints it ("1,234").
func number(s string) (int64, error) {
	return strconv.ParseInt(strings.ReplaceAll(strings.TrimSpace(s), ",", ""), 10, 64)
}

// TestLivePageInChromium runs oscheck as a process on a known input and
// watches its live page in headless Chromium: the table shows the ground
// truth, the open window fills in without a reload as partitions report,
// and the page reconnects by itself after oscheck is restarted.
func TestLivePageInChromium(t *testing.T) {
	chromium := tool(t, "chromium") // Debian's; .ci/run installs it
	const partitions = 3
	window, grace := 2*time.Second, time.Second
	brokers := startBroker(t, partitions, "access_log")
	start := time.Date(2019, 8, 14, 0, 43, 8, 0, time.UTC)
	s := makeStream(3000, partitions, start, 16*time.Second, window, grace, 11)
	// One record per partition far enough ahead to close every window of the
	// stream; their own window stays open, in no partition's report yet.
	openAt := start.Add(30 * time.Second)
	openStart := openAt.UnixMilli()
	produce(t, brokers, append(s.records, sentinels(partitions, openAt)...))

	addr := freeAddr(t)
	// A long idle timeout: windows close only as event time moves, which
	// the test drives.
	p, logs := serviceProcess(t, "oscheck", "--brokers", brokers[0], "--window", window.String(), "--grace", grace.String(),
		"--idle-timeout", "10m", "--http-addr", addr, "--log-level", "info")

	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	actx, cancelAlloc := chromedp.NewExecAllocator(ctx, append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromium), chromedp.NoSandbox, chromedp.DisableGPU, chromedp.WindowSize(1200, 1500))...)
	defer cancelAlloc()
	bctx, cancelBrowser := chromedp.NewContext(actx)
	defer cancelBrowser()

	url := "http://" + addr + "/"
	if err := proc.WaitFor(ctx, 30*time.Second, "oscheck's HTTP server", func() bool { return proc.Listening(addr) }); err != nil {
		t.Fatalf("%v\nservice log:\n%s", err, logs)
	}
	if err := chromedp.Do(bctx, chromedp.Navigate(url)); err != nil {
		t.Fatalf("opening %s in chromium: %v", url, err)
	}
	if _, err := chromedp.Run(bctx, chromedp.Evaluate[int](`window.__livepageTest = 1`)); err != nil {
		t.Fatalf("marking the page: %v", err)
	}
	await := func(what string, timeout time.Duration, ok func(pageState) string) pageState {
		t.Helper()
		deadline := time.Now().Add(timeout)
		for {
			st, err := chromedp.Run(bctx, chromedp.Evaluate[pageState](readPage))
			if err != nil {
				t.Fatalf("reading the page: %v", err)
			}
			why := ok(st)
			if why == "" {
				return st
			}
			if time.Now().After(deadline) {
				t.Fatalf("the page did not show %s within %v: %s\nservice log:\n%s", what, timeout, why, logs)
			}
			time.Sleep(200 * time.Millisecond)
		}
	}
	// matchesTruth says how the page's table differs from the ground truth,
	// "" when it does not.
	matchesTruth := func(st pageState) string {
		if !st.Marker {
			return "the page was reloaded"
		}
		if st.Conn != "live" {
			return "status " + st.Conn
		}
		finals := make(map[int64]map[string]string)
		for _, r := range st.Rows {
			if r.Final {
				finals[r.Start] = r.Counts
			}
		}
		for k, want := range s.counts {
			row, ok := finals[k.start]
			if !ok {
				return fmt.Sprintf("window %d is not final on the page (%d final rows)", k.start, len(finals))
			}
			got, err := number(row[k.os])
			if err != nil || got != want {
				return fmt.Sprintf("%s: page shows %q, want %d", k, row[k.os], want)
			}
		}
		for start, row := range finals {
			for os, txt := range row {
				if n, _ := number(txt); n != 0 && os != "_total" && s.counts[windowKey{os, start}] == 0 {
					return fmt.Sprintf("%s@%d: page shows %q, not in the input", os, start, txt)
				}
			}
		}
		return ""
	}
	st := await("the ground truth in its table", 45*time.Second, matchesTruth)
	t.Logf("page shows %d windows, every final count equal to the ground truth (%d os_type windows)", len(st.Rows), len(s.counts))
	st = await("the late and malformed totals", 10*time.Second, func(st pageState) string {
		late, _ := number(st.Late)
		bad, _ := number(st.Malformed)
		if late != int64(s.late) || bad != int64(len(s.malformed)) {
			return fmt.Sprintf("late %q (want %d), malformed %q (want %d)", st.Late, s.late, st.Malformed, len(s.malformed))
		}
		return ""
	})

	// The open window fills in, partition by partition, with no reload.
	openShows := func(reported int) func(pageState) string {
		return func(st pageState) string {
			if !st.Marker {
				return "the page was reloaded"
			}
			for _, o := range st.Open {
				if o.Start == openStart {
					if o.Reported != reported {
						return fmt.Sprintf("open window reported by %d partitions", o.Reported)
					}
					for _, r := range st.Rows {
						if r.Start == openStart {
							if n, _ := number(r.Counts["_total"]); n != int64(reported) || r.State != fmt.Sprintf("open %d/%d", reported, partitions) {
								return fmt.Sprintf("open window's row: %q, total %q", r.State, r.Counts["_total"])
							}
							return ""
						}
					}
					return "open window has no table row"
				}
			}
			return fmt.Sprintf("no open window at %d: %+v", openStart, st.Open)
		}
	}
	later := openAt.Add(10 * time.Second)
	for p := range int32(2) {
		gen := traffic.NewGenerator(int64(p) + 100)
		line, _ := gen.Append(nil, later)
		produce(t, brokers, []*kgo.Record{{Topic: "access_log", Partition: p, Value: traffic.Envelope(nil, line)}})
		await(fmt.Sprintf("the open window reported by %d partitions", p+1), 20*time.Second, openShows(int(p)+1))
	}

	png, err := chromedp.Run(bctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatalf("screenshot: %v", err)
	}
	for _, path := range []string{filepath.Join(t.ArtifactDir(), "livepage.png"), os.Getenv(screenshotEnv)} {
		if path == "" {
			continue
		}
		if err := os.WriteFile(path, png, 0o644); err != nil {
			t.Fatalf("saving the screenshot: %v", err)
		}
		t.Logf("screenshot: %s (%d bytes)", path, len(png))
	}

	// Restart oscheck: the page says it is reconnecting, then shows the
	// same numbers again, from the new process, without a reload.
	if err := p.Signal(syscall.SIGTERM, 30*time.Second); err != nil {
		t.Fatalf("stopping oscheck: %v", err)
	}
	await("that it is reconnecting", 15*time.Second, func(st pageState) string {
		if st.Conn != "reconnecting" {
			return "status " + st.Conn
		}
		return ""
	})
	if err := p.Start(); err != nil {
		t.Fatal(err)
	}
	await("the ground truth again after the restart", 45*time.Second, matchesTruth)
	await("the open window again after the restart", 15*time.Second, openShows(2))
}
