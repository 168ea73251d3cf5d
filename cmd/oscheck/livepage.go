package main

import (
	"context"
	"log/slog"
	"net"
	"net/http"

	"github.com/oscheck/oscheck/cmd/oscheck/internal/livepage"
	"github.com/oscheck/oscheck/topology"
)

// withLivePage returns mount with the live page (/, /live/) added; the page
// reads whichever instance is running, and its streams end with ctx.
func withLivePage(ctx context.Context, cur *current, log *slog.Logger, mount func(*http.ServeMux)) func(*http.ServeMux) {
	page := livepage.New(ctx, livepage.Config{Log: log, Current: func() (livepage.Source, bool) {
		in := cur.p.Load()
		if in == nil {
			return livepage.Source{}, false
		}
		return livepage.Source{Windows: in.svc.Windows, Metrics: in.reg, NotRecovered: topology.ErrNotRecovered}, true
	}})
	return func(mux *http.ServeMux) {
		mount(mux)
		page.Mount(mux)
	}
}

// pageURL is the live page's URL for an http-addr such as ":9464".
func pageURL(addr string) string {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return "http://" + addr + "/"
	}
	if host == "" || host == "0.0.0.0" || host == "::" {
		host = "localhost"
	}
	return "http://" + net.JoinHostPort(host, port) + "/"
}
