package main

import (
	"context"
	"fmt"
	"os/exec"
	"syscall"
	"time"
)

// watchPage opens oscheck's live page at addr in a headless browser for as
// long as the run lasts: the page keeps its event stream open and draws
// every snapshot, as a person watching would. The page retries until oscheck
// serves it, so it starts before oscheck: the browser's own start-up (a few
// CPU-seconds) is then over before the run, as for a page already open.
func watchPage(ctx context.Context, browser, addr string) (stop func(), err error) {
	cmd := exec.CommandContext(ctx, browser, "--headless", "--no-sandbox", "--disable-gpu",
		"--remote-debugging-port=0", "--user-data-dir="+fmt.Sprintf("/tmp/bench-page-%s", addr),
		"--window-size=1200,1400", "http://"+addr+"/")
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true} // the browser's helpers go with it
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting %s for the live page: %w", browser, err)
	}
	select {
	case <-ctx.Done():
	case <-time.After(3 * time.Second):
	}
	return func() {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		_ = cmd.Wait()
	}, nil
}
