package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func TestHealthcheck(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/healthz":
			fmt.Fprintln(w, "ok")
		case "/readyz":
			http.Error(w, "restoring the window table\nsecond line", http.StatusServiceUnavailable)
		case "/html":
			w.Header().Set("Content-Type", "text/html")
			w.WriteHeader(http.StatusInternalServerError)
			fmt.Fprintln(w, "<!DOCTYPE html>")
		case "/moved":
			http.Redirect(w, r, "/healthz", http.StatusFound)
		}
	}))
	defer srv.Close()
	hung, err := net.Listen("tcp", "127.0.0.1:0") // accepts connections, never answers
	if err != nil {
		t.Fatal(err)
	}
	defer hung.Close()

	cases := []struct {
		name, url string
		want      string // in the error; "" for healthy
	}{
		{"healthy", srv.URL + "/healthz", ""},
		{"503", srv.URL + "/readyz", "503 Service Unavailable: restoring the window table"},
		{"html", srv.URL + "/html", "500 Internal Server Error"},
		{"redirect", srv.URL + "/moved", "302 Found"},
		{"nothing listening", "http://" + freeAddr(t) + "/healthz", "connection refused"},
		{"no answer", "http://" + hung.Addr().String() + "/healthz", "deadline exceeded"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			start := time.Now()
			err := run(context.Background(), []string{"healthcheck", "--url", c.url, "--timeout", "500ms"}, io.Discard, io.Discard)
			if elapsed := time.Since(start); elapsed > 2*time.Second {
				t.Errorf("took %v with --timeout 500ms", elapsed)
			}
			if c.want == "" {
				if err != nil {
					t.Fatalf("got %v, want healthy", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), c.want) || strings.ContainsAny(err.Error(), "\n<") {
				t.Fatalf("got %v, want one line saying %q", err, c.want)
			}
			if !errors.As(err, new(unhealthy)) {
				t.Errorf("%v is not unhealthy: oscheck would exit 2, which Docker reserves", err)
			}
		})
	}
}

func TestHealthcheckRejectsBadConfig(t *testing.T) {
	for _, args := range [][]string{{"--url", "http://[::1"}, {"--timeout", "0s"}} {
		err := run(context.Background(), append([]string{"healthcheck"}, args...), io.Discard, io.Discard)
		if err == nil || errors.As(err, new(unhealthy)) || !strings.Contains(err.Error(), "config key") {
			t.Errorf("healthcheck %v: got %v, want a config error", args, err)
		}
	}
}
