package main

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/oscheck/oscheck/topology"
)

// TestAdminOffByDefault checks that goka's pages, which have no
// authentication and load their assets from public CDNs, are served only
// when asked for, while /windows always is.
func TestAdminOffByDefault(t *testing.T) {
	v, err := flagsAndEnv(newRunFlags(), nil)
	if err != nil {
		t.Fatal(err)
	}
	w, err := webSettings(v)
	if err != nil {
		t.Fatal(err)
	}
	if w.admin {
		t.Error("admin is on by default")
	}
	for _, admin := range []bool{false, true} {
		var cur current // no instance: the routes answer 503
		mux := http.NewServeMux()
		cur.mount(mux, admin)
		for path, want := range map[string]int{"/windows": http.StatusServiceUnavailable, "/admin/": http.StatusNotFound,
			"/admin/monitor/": http.StatusNotFound} {
			if admin && path != "/windows" {
				want = http.StatusServiceUnavailable
			}
			rec := httptest.NewRecorder()
			mux.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
			if rec.Code != want {
				t.Errorf("admin %v: GET %s: %d, want %d", admin, path, rec.Code, want)
			}
		}
	}
}

// TestQueryAddrChecked checks query-addr's validation: errors name the key.
func TestQueryAddrChecked(t *testing.T) {
	for _, args := range [][]string{{"--query-addr", "9465"}, {"--query-addr", ":9464"}} {
		v, err := flagsAndEnv(newRunFlags(), args)
		if err != nil {
			t.Fatal(err)
		}
		_, err = webSettings(v)
		var ke *topology.KeyError
		if !errors.As(err, &ke) || ke.Key != "query-addr" {
			t.Errorf("%q: %v, want an error naming query-addr", args, err)
		}
	}
	v, _ := flagsAndEnv(newRunFlags(), []string{"--query-addr", "127.0.0.1:9465"})
	if w, err := webSettings(v); err != nil || w.queryAddr != "127.0.0.1:9465" {
		t.Errorf("a good query-addr: %+v, %v", w, err)
	}
}
