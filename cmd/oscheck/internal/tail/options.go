package tail

import (
	"errors"
	"fmt"
	"log/slog"
	"time"
)

// An Option configures a Follower. Follow rejects invalid values.
type Option func(*options)

type options struct {
	poll            time.Duration
	drain           time.Duration
	maxLine         int
	fingerprintSize int
	startAtEnd      bool
	log             *slog.Logger
}

func defaults() options {
	return options{
		poll:            100 * time.Millisecond,
		drain:           time.Second,
		maxLine:         1 << 20,
		fingerprintSize: 1024,
		log:             slog.Default(),
	}
}

// WithPollInterval sets how long Next sleeps, when it has nothing to return,
// before it looks at the files again (default 100ms). It bounds the delay
// from a line's write to its return; each poll costs four system calls.
func WithPollInterval(d time.Duration) Option { return func(o *options) { o.poll = d } }

// WithRotateDrain sets how long a rotated-away file must stay at its end
// without growing before the Follower moves on to the new file at path
// (default 1s). It must exceed the time nginx workers take to reopen their
// logs after USR1: lines they write to the old file later are not read.
// Zero moves on at the first poll that finds the old file at its end.
func WithRotateDrain(d time.Duration) Option { return func(o *options) { o.drain = d } }

// WithMaxLineBytes bounds the length of a returned line, '\n' and a '\r'
// before it not counted (default 1 MiB). Longer lines are returned cut to n
// bytes, the rest skipped, and counted in Stats.LongLines. It also bounds the
// Follower's memory: its buffer never exceeds n + 64 KiB.
func WithMaxLineBytes(n int) Option { return func(o *options) { o.maxLine = n } }

// WithFingerprintSize sets how many of a file's first bytes identify it, in
// the Positions Next returns and while following (default 1024; see
// fingerprint.go). Resuming uses the length stored in the Position, so it
// may change between runs.
func WithFingerprintSize(n int) Option { return func(o *options) { o.fingerprintSize = n } }

// WithStartAtEnd starts a Follower that has no Position just past the last
// complete line of path, instead of at its start. It does not apply when
// Follow is given a Position, even one whose file is gone: then the lines at
// path are the ones that followed it, and are read from the start.
func WithStartAtEnd() Option { return func(o *options) { o.startAtEnd = true } }

// WithLogger sets where the Follower reports rotations (Info), and what it
// cannot read: truncations, lost files, cut lines (Warn). Default:
// slog.Default().
func WithLogger(l *slog.Logger) Option { return func(o *options) { o.log = l } }

// maxFingerprintSize bounds WithFingerprintSize: the Follower keeps that
// many bytes twice, and compares them with the file after every read.
const maxFingerprintSize = 1 << 20

func (o options) validate() error {
	var errs []error
	if o.poll <= 0 {
		errs = append(errs, fmt.Errorf("poll interval %v: must be positive", o.poll))
	}
	if o.drain < 0 {
		errs = append(errs, fmt.Errorf("rotate drain %v: must not be negative", o.drain))
	}
	if o.maxLine < 1 || o.maxLine > 1<<30 {
		errs = append(errs, fmt.Errorf("max line bytes %d: must be in [1, 1 GiB]", o.maxLine))
	}
	if o.fingerprintSize < 1 || o.fingerprintSize > maxFingerprintSize {
		errs = append(errs, fmt.Errorf("fingerprint size %d: must be in [1, %d]", o.fingerprintSize, maxFingerprintSize))
	}
	if o.log == nil {
		errs = append(errs, errors.New("nil logger"))
	}
	return errors.Join(errs...)
}
