// Package proc supervises the project's binaries as OS processes for the
// harnesses in cmd/ (chaos, bench): it builds them, starts and signals them,
// and samples their memory and CPU from /proc. It is Linux-only, as the
// harnesses are.
package proc

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Proc is one supervised OS process: started again by Start, watched for
// exits the harness did not cause.
type Proc struct {
	Name string
	Env  []string // added to the harness's environment, as KEY=value; set before Start
	args []string
	log  *os.File

	mu       sync.Mutex
	cmd      *exec.Cmd
	exited   chan struct{}
	exitErr  error
	expected bool  // the harness stopped it on purpose
	peakRSS  int64 // bytes, highest seen across all runs
	starts   int
	crashes  int // exits the harness did not cause
}

// New returns a process that runs args and appends its output to
// dir/name.log. It does not start it.
func New(dir, name string, args ...string) (*Proc, error) {
	f, err := os.OpenFile(filepath.Join(dir, name+".log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, fmt.Errorf("log of %s: %w", name, err)
	}
	return &Proc{Name: name, args: args, log: f}, nil
}

// Start starts the process, again if it ran before.
func (p *Proc) Start() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	cmd := exec.Command(p.args[0], p.args[1:]...)
	cmd.Env = append(os.Environ(), p.Env...)
	cmd.Stdout, cmd.Stderr = p.log, p.log
	fmt.Fprintf(p.log, "=== %s start %d\n", time.Now().Format(time.StampMilli), p.starts+1)
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("starting %s: %w", p.Name, err)
	}
	p.cmd, p.exited, p.expected = cmd, make(chan struct{}), false
	p.starts++
	exited := p.exited
	go func() {
		err := cmd.Wait()
		p.mu.Lock()
		p.exitErr = err
		if !p.expected {
			p.crashes++
		}
		p.mu.Unlock()
		close(exited)
	}()
	return nil
}

// Running reports whether the process is up, and its exit channel.
func (p *Proc) Running() (bool, chan struct{}) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cmd == nil {
		return false, nil
	}
	select {
	case <-p.exited:
		return false, p.exited
	default:
		return true, p.exited
	}
}

// CrashedOut reports whether the process was started and has exited (or is
// about to be seen exiting) without the harness stopping it.
func (p *Proc) CrashedOut() bool {
	p.mu.Lock()
	started := p.cmd != nil && !p.expected
	p.mu.Unlock()
	up, _ := p.Running()
	return started && !up
}

// ExitErr is the error of the last exit (nil for exit status 0).
func (p *Proc) ExitErr() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.exitErr
}

// Signal sends sig and waits up to timeout for the exit; then it kills the
// process and says so.
func (p *Proc) Signal(sig syscall.Signal, timeout time.Duration) error {
	p.mu.Lock()
	cmd, exited := p.cmd, p.exited
	p.expected = true
	p.mu.Unlock()
	if cmd == nil {
		return nil
	}
	_ = cmd.Process.Signal(sig)
	select {
	case <-exited:
		return nil
	case <-time.After(timeout):
		_ = cmd.Process.Kill()
		<-exited
		return fmt.Errorf("%s did not exit within %v of %v", p.Name, timeout, sig)
	}
}

// Pause stops the process (SIGSTOP) for d, then lets it go on (SIGCONT): a
// process frozen by a long pause of its host, as a swapped-out VM or a hung
// disk would freeze it.
func (p *Proc) Pause(d time.Duration) error {
	pid := p.pid()
	if pid == 0 {
		return fmt.Errorf("%s is not running", p.Name)
	}
	if err := syscall.Kill(pid, syscall.SIGSTOP); err != nil {
		return fmt.Errorf("stopping %s: %w", p.Name, err)
	}
	time.Sleep(d)
	if err := syscall.Kill(pid, syscall.SIGCONT); err != nil {
		return fmt.Errorf("continuing %s: %w", p.Name, err)
	}
	return nil
}

func (p *Proc) pid() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cmd == nil || p.cmd.Process == nil {
		return 0
	}
	return p.cmd.Process.Pid
}

// SampleRSS records the process's peak resident set size (the kernel's
// high-water mark, so nothing between samples is missed) and returns the
// current one (0 when the process is not running).
func (p *Proc) SampleRSS() int64 {
	pid := p.pid()
	if pid == 0 {
		return 0
	}
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	var rss, hwm int64
	for _, l := range strings.Split(string(b), "\n") {
		f := strings.Fields(l)
		if len(f) != 3 || (f[0] != "VmRSS:" && f[0] != "VmHWM:") {
			continue
		}
		kb, err := strconv.ParseInt(f[1], 10, 64)
		if err != nil {
			continue
		}
		if f[0] == "VmRSS:" {
			rss = kb * 1024
		} else {
			hwm = kb * 1024
		}
	}
	p.mu.Lock()
	p.peakRSS = max(p.peakRSS, hwm, rss)
	p.mu.Unlock()
	return rss
}

// PeakRSS is the highest resident set size SampleRSS saw, in bytes.
func (p *Proc) PeakRSS() int64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.peakRSS
}

// Crashes counts the exits the harness did not cause.
func (p *Proc) Crashes() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.crashes
}

// CPU returns the user plus system CPU time the running process has used so
// far, at the kernel's clock-tick resolution (10 ms).
func (p *Proc) CPU() (time.Duration, error) {
	pid := p.pid()
	if pid == 0 {
		return 0, fmt.Errorf("%s is not running", p.Name)
	}
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, fmt.Errorf("cpu of %s: %w", p.Name, err)
	}
	// The command name in parentheses may hold spaces; fields count from
	// after it. utime and stime are fields 14 and 15 of the whole line.
	rest := string(b[strings.LastIndexByte(string(b), ')')+2:])
	f := strings.Fields(rest)
	if len(f) < 13 {
		return 0, fmt.Errorf("cpu of %s: short /proc stat line", p.Name)
	}
	utime, err1 := strconv.ParseInt(f[11], 10, 64)
	stime, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, fmt.Errorf("cpu of %s: bad /proc stat line", p.Name)
	}
	// Linux reports in USER_HZ, 100 on every architecture Go supports.
	return time.Duration(utime+stime) * 10 * time.Millisecond, nil
}
