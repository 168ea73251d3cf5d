package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/oscheck/oscheck/processor/classify"
)

// TestBucketsFromConfigFile defines a harmonyos bucket in oscheck.yaml, as a
// user would, and expects Huawei's HarmonyOS phones, which also say Android,
// counted under it, while the built-in buckets still apply to the rest.
func TestBucketsFromConfigFile(t *testing.T) {
	const harmony = "Mozilla/5.0 (Linux; Android 12; HarmonyOS; NOH-AN00; HMSCore 6.11.0.302) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/99.0.4844.88 HuaweiBrowser/14.0.1.300 Mobile Safari/537.36"
	const android = "Mozilla/5.0 (Linux; Android 13; Pixel 7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/116.0.0.0 Mobile Safari/537.36"
	const chromeOS = "Mozilla/5.0 (X11; CrOS x86_64 14541.0.0) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/116.0.0.0 Safari/537.36"
	dir := t.TempDir()
	conf := filepath.Join(dir, "oscheck.yaml")
	yaml := "buckets:\n  - name: harmonyos\n    contains: [HarmonyOS, OpenHarmony]\nformat: json\nidle-timeout: 500ms\n"
	if err := os.WriteFile(conf, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	brokers := startBroker(t, 1, "access_log")
	out := consume(t, brokers, "os-check")
	service(t, "--config", conf, "--brokers", brokers[0], "--http-addr", "")

	now := time.Now().UTC().Format("02/Jan/2006:15:04:05 -0700")
	var recs []*kgo.Record
	for _, ua := range []string{harmony, harmony, android, chromeOS} {
		line := `10.0.0.1 - - [` + now + `] "GET / HTTP/1.1" 200 1 "-" "` + ua + `"`
		recs = append(recs, &kgo.Record{Topic: "access_log", Value: []byte(line)})
	}
	produce(t, brokers, recs)

	want := map[string]int64{"harmonyos": 2, "android": 1, "chromeos": 1}
	got := map[string]int64{}
	for _, r := range out.waitFor(3, 30*time.Second) {
		var w struct {
			OSType string `json:"os_type"`
			Count  int64  `json:"count"`
		}
		if err := json.Unmarshal(r.Value, &w); err != nil {
			t.Fatal(err)
		}
		got[w.OSType] += w.Count
	}
	for os, n := range want {
		if got[os] != n {
			t.Errorf("%s: got %d, want %d (all: %v)", os, got[os], n, got)
		}
	}
}

// TestBucketsSettingForms reads the same buckets from a flag string and from
// a config file's list, and rejects malformed list items by name.
func TestBucketsSettingForms(t *testing.T) {
	want := []classify.Bucket{{Name: "harmonyos", Contains: []string{"HarmonyOS", "OpenHarmony"}}, {Name: "tizen", Contains: []string{"Tizen"}}}
	v, err := settings(newRunFlags(), []string{"--buckets", "harmonyos=HarmonyOS|OpenHarmony;tizen=Tizen"})
	if err != nil {
		t.Fatal(err)
	}
	got, err := bucketsSetting(v)
	if err != nil || !equalBuckets(got, want) {
		t.Errorf("flag: got %v, %v; want %v", got, err, want)
	}

	dir := t.TempDir()
	conf := filepath.Join(dir, "oscheck.yaml")
	yaml := "buckets:\n  - name: harmonyos\n    contains: [HarmonyOS, OpenHarmony]\n  - name: tizen\n    contains: [Tizen]\n"
	if err := os.WriteFile(conf, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	v, err = settings(newRunFlags(), []string{"--config", conf})
	if err != nil {
		t.Fatal(err)
	}
	got, err = bucketsSetting(v)
	if err != nil || !equalBuckets(got, want) {
		t.Errorf("file: got %v, %v; want %v", got, err, want)
	}

	for _, bad := range []string{
		"buckets:\n  - name: x\n    contain: [X]\n",
		"buckets:\n  - name: [x]\n    contains: [X]\n",
		"buckets:\n  - name: x\n    contains: X\n",
		"buckets:\n  - x\n",
	} {
		if err := os.WriteFile(conf, []byte(bad), 0o600); err != nil {
			t.Fatal(err)
		}
		v, err := settings(newRunFlags(), []string{"--config", conf})
		if err == nil {
			_, err = serviceConfig(v)
		}
		if err == nil || !strings.Contains(err.Error(), `"buckets"`) {
			t.Errorf("config %q: got %v, want an error naming \"buckets\"", bad, err)
		}
	}
}

func equalBuckets(a, b []classify.Bucket) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i].Name != b[i].Name || strings.Join(a[i].Contains, "|") != strings.Join(b[i].Contains, "|") {
			return false
		}
	}
	return true
}
