package topology

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"testing"

	"github.com/oscheck/oscheck/topology/cluster"
)

// TestSecretNeverPrinted formats a configuration holding a password every
// way a log or an error message might.
func TestSecretNeverPrinted(t *testing.T) {
	const password = "hunter2-do-not-print"
	c := DefaultConfig()
	c.Security = cluster.Security{SASLMechanism: cluster.SASLSCRAMSHA512, SASLUsername: "oscheck", SASLPassword: password}
	var out bytes.Buffer
	for _, format := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%d"} {
		fmt.Fprintf(&out, format+"\n", c)
		fmt.Fprintf(&out, format+"\n", c.Security)
	}
	b, err := json.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	out.Write(b)
	slog.New(slog.NewTextHandler(&out, nil)).Info("starting", "config", c, "security", c.Security)
	slog.New(slog.NewJSONHandler(&out, nil)).Info("starting", "config", c, "password", c.Security.SASLPassword)
	if strings.Contains(out.String(), password) {
		t.Fatalf("the password was printed:\n%s", out.String())
	}
	if !strings.Contains(out.String(), "security.sasl-password=[redacted]") {
		t.Errorf("the log does not show that a password is set:\n%s", out.String())
	}
	if cluster.Secret("").String() != "" {
		t.Error("an empty secret should print as empty: it tells the reader none is set")
	}
}
