package main

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"regexp"
	"testing"
)

// With query-addr set, the live page is served there, with the query API,
// and /metrics stays on http-addr (README "The live page"; run.go serveHTTP,
// supervise.go serve). The page's footer links /metrics relatively, so on
// query-addr the link is a 404. Every link and asset the page names must
// resolve on the server that serves the page.
func TestAttackLivePageLinksResolveOnQueryAddr(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var cur current // no instance: the service is starting again
	queries := withLivePage(ctx, &cur, slog.New(slog.DiscardHandler), func(mux *http.ServeMux) { cur.mount(mux, false) })
	mux := http.NewServeMux() // what serve gives listen("query-addr", ...)
	queries(mux)
	srv := httptest.NewServer(mux)
	defer srv.Close()

	resp, err := http.Get(srv.URL + "/")
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, m := range regexp.MustCompile(`(?:href|src)="(/[^"]*)"`).FindAllSubmatch(page, -1) {
		path := string(m[1])
		r, err := http.Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		r.Body.Close()
		if r.StatusCode == http.StatusNotFound {
			t.Errorf("the page served on query-addr links %s: 404 there", path)
		}
	}
}
