package topology

import (
	"context"
	"fmt"

	"github.com/lovoo/goka"
)

// NotReady returns why the instance should not take traffic yet, or "" when
// it is ready: both stages have joined their groups and run with their
// partitions assigned (possibly none, when there are more instances than
// partitions), the window table is recovered, and the brokers answer (or
// have failed to for less than 15 s: cluster.Probe). It changes back while a
// rebalance or a restore is under way.
func (s *Service) NotReady(ctx context.Context) string {
	// A restore runs while goka is still setting up the session, so it is
	// asked about first: it is the more telling reason.
	if s.Recovering(ctx) {
		return "window stage: recovering the window table"
	}
	for _, st := range s.stages() {
		if state := st.proc.StateReader().State(); state != goka.ProcStateRunning {
			return fmt.Sprintf("%s stage: %s, waiting for its partitions", st.name, processorStates[state])
		}
	}
	return s.probe.Unreachable()
}
