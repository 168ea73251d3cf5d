package main

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/oscheck/oscheck/cmd/internal/testkit/faultnet"
	"github.com/oscheck/oscheck/processor/output"
)

// TestRestartAfterRuntimeFailure makes a running service's window stage fail
// (its commit is held until the broker times its transaction out and fences
// its producer), takes the broker off the network while the service starts
// again, so that the first restarts fail and are retried, then gives it back.
// The service must restart in the process, without the test's help, and
// os-check end with exactly one record per window, with its count.
func TestRestartAfterRuntimeFailure(t *testing.T) {
	const partitions = 2
	window, grace := 2*time.Second, time.Second
	var ln *faultnet.Listener
	c, brokers := startCluster(t, partitions, "access_log", faultyListen(&ln))
	start, span := time.Date(2019, 8, 14, 0, 43, 8, 0, time.UTC), 20*time.Second
	s := makeStream(4_000, partitions, start, span, window, grace, 9)
	halves := chunked(s.records, partitions, 2)
	// The idle close would close windows whose records wait behind the
	// failure; records past the stream close its last windows instead.
	first, rest := halves[0], append(halves[1], sentinels(partitions, start.Add(span+window+grace+time.Minute))...)
	produce(t, brokers, first)
	out := consume(t, brokers, "os-check")
	addr := freeAddr(t)
	_, logs := serviceProcess(t, "oscheck", "--brokers", brokers[0], "--window", window.String(), "--grace", grace.String(),
		"--idle-timeout", "10m", "--http-addr", addr)
	if len(out.waitFor(1, time.Minute)) == 0 {
		t.Fatal("no final window before the failure")
	}

	held := holdCommit(c, "os-check-streams-window-", 1)
	produce(t, brokers, rest)
	awaitLog(t, logs, "the service failed; starting it again")
	ln.SetDown(true)
	awaitLog(t, logs, "starting the service again failed; retrying")
	ln.SetDown(false)
	awaitLog(t, logs, "started again")

	awaitFinals(t, brokers, output.KStreams, window, s.want(), 2*time.Minute)
	settle(t, brokers, 1, 2*time.Minute)
	checkFinals(t, readAll(t, brokers, "os-check"), window, s.want())
	if held.Load() != 1 {
		t.Errorf("%d commits held, want 1", held.Load())
	}
	if n := sum(scrape(t, addr, "oscheck_restarts_total")); n != 1 {
		t.Errorf("oscheck_restarts_total = %v, want 1", n)
	}
}

// awaitLog waits up to a minute for a log line holding msg.
func awaitLog(t *testing.T, logs fmt.Stringer, msg string) {
	t.Helper()
	for deadline := time.Now().Add(time.Minute); !strings.Contains(logs.String(), msg); time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("no %q in the service log within a minute", msg)
		}
	}
}

// denyWriteACL denies SASL user "app" (see appUser) writing topic.
func denyWriteACL(topic string) kmsg.CreateACLsRequestCreation {
	c := kmsg.NewCreateACLsRequestCreation()
	c.ResourceType, c.ResourceName, c.ResourcePatternType = kmsg.ACLResourceTypeTopic, topic, kmsg.ACLResourcePatternTypeLiteral
	c.Principal, c.Host, c.Operation, c.PermissionType = "User:app", "*", kmsg.ACLOperationWrite, kmsg.ACLPermissionTypeDeny
	return c
}

// createACL adds an ACL as b's superuser.
func createACL(t *testing.T, b *secureBroker, c kmsg.CreateACLsRequestCreation) {
	t.Helper()
	req := kmsg.NewPtrCreateACLsRequest()
	req.Creations = append(req.Creations, c)
	resp, err := req.RequestWith(context.Background(), adminClient(t, b))
	if err == nil && len(resp.Results) == 1 && resp.Results[0].ErrorCode != 0 {
		err = fmt.Errorf("error code %d", resp.Results[0].ErrorCode)
	}
	if err != nil {
		t.Fatalf("creating an ACL: %v", err)
	}
}

// deleteACL removes what createACL added.
func deleteACL(t *testing.T, b *secureBroker, c kmsg.CreateACLsRequestCreation) {
	t.Helper()
	f := kmsg.NewDeleteACLsRequestFilter()
	f.ResourceType, f.ResourceName, f.ResourcePatternType = c.ResourceType, &c.ResourceName, c.ResourcePatternType
	f.Principal, f.Host, f.Operation, f.PermissionType = &c.Principal, &c.Host, c.Operation, c.PermissionType
	req := kmsg.NewPtrDeleteACLsRequest()
	req.Filters = append(req.Filters, f)
	resp, err := req.RequestWith(context.Background(), adminClient(t, b))
	if err == nil && (len(resp.Results) != 1 || resp.Results[0].ErrorCode != 0 || len(resp.Results[0].MatchingACLs) != 1) {
		err = fmt.Errorf("response %+v", resp.Results)
	}
	if err != nil {
		t.Fatalf("deleting an ACL: %v", err)
	}
}

// adminClient is a client of b's superuser, closed when the test ends.
func adminClient(t *testing.T, b *secureBroker) *kgo.Client {
	t.Helper()
	cl, err := kgo.NewClient(b.kgoOpts(t)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cl.Close)
	return cl
}
