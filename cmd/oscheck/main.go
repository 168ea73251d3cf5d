// Command oscheck counts nginx access-log requests per operating system in
// tumbling windows, reading an access-log topic and writing os-check.
//
//	oscheck run          the service (a goka processor group; scale by starting more)
//	oscheck demo         an embedded broker, synthetic nginx traffic and the service, printing final windows
//	oscheck read         prints an os-check topic readably
//	oscheck ship         follows an nginx access log into the input topic, exactly once
//	oscheck gen          writes realistic nginx lines to Kafka or a file, or sends their requests to a web server
//	oscheck healthcheck  exits 0 if /healthz answers 200: the HEALTHCHECK of the distroless image, which has no curl
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/pflag"
)

const usage = `usage: oscheck <command> [flags]

commands:
  run          run the service against a Kafka cluster (see oscheck run --help)
  demo         run an embedded broker, synthetic nginx traffic and the service
  read         print an os-check topic readably
  ship         follow an nginx access log into Kafka, exactly once, across rotations and restarts
  gen          write realistic nginx access-log lines to Kafka or to a file, or send their requests to a web server
  healthcheck  exit 0 if the service's /healthz answers 200 (the Docker image's HEALTHCHECK)
`

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		if !errors.Is(err, pflag.ErrHelp) {
			fmt.Fprintln(os.Stderr, "oscheck:", err)
		}
		if errors.As(err, new(unhealthy)) {
			os.Exit(1)
		}
		os.Exit(2)
	}
}

// run dispatches a command line; tests call it as a user would.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return errors.New("no command given")
	}
	switch args[0] {
	case "run":
		return runService(ctx, args[1:], stderr)
	case "demo":
		return runDemo(ctx, args[1:], stdout, stderr)
	case "read":
		return runRead(ctx, args[1:], stdout, stderr)
	case "ship":
		return runShip(ctx, args[1:], stderr)
	case "gen":
		return runGen(ctx, args[1:], stdout, stderr)
	case "healthcheck":
		return runHealthcheck(ctx, args[1:], stdout, stderr)
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return nil
	}
	fmt.Fprint(stderr, usage)
	return fmt.Errorf("unknown command %q", args[0])
}
