// Command mkcorpus draws the User-Agent corpus (../useragents.tsv) from the
// public sources that ../SOURCES.md names. The draw is deterministic: a
// source is taken whole, or a User-Agent is kept when the FNV-1a hash of its
// text is 0 modulo the source's k, so that the sample does not depend on the
// order of the source and needs no seed.
//
//	(cd /tmp && npm pack crawler-user-agents@1.60.0 top-user-agents@2.1.138 &&
//	    for v in 2.1.198 1.1.593 1.1.406 1.1.179 1.1.12 1.0.1257 1.0.1092 1.0.965 1.0.817 1.0.622 1.0.0; do
//	        npm pack user-agents@$v; done)
//	go run ./processor/classify/testdata/mkcorpus -npm /tmp \
//	    -uas "$(go env GOMODCACHE)/github.com/ua-parser/uap-go@v0.0.0-20260529044130-17c35e68e58c/uas" \
//	    -logs ../shared/data/access-logs > processor/classify/testdata/useragents.tsv
package main

import (
	"archive/tar"
	"bufio"
	"bytes"
	"compress/gzip"
	"encoding/json"
	"flag"
	"fmt"
	"hash/fnv"
	"io"
	"log"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// latestIntoli is taken whole and carries the traffic weights; the older
// releases, spread over the package's history, are sampled.
const latestIntoli = "2.1.198"

// olderIntoli are the releases at every 88th position (a tenth) of the
// package's release list, going back from the latest.
var olderIntoli = []string{"1.1.593", "1.1.406", "1.1.179", "1.1.12", "1.0.1257", "1.0.1092", "1.0.965", "1.0.817", "1.0.622", "1.0.0"}

type row struct {
	source string
	weight int // parts per million of the latest intoli sample; 0 elsewhere
	ua     string
}

func main() {
	npm := flag.String("npm", "", "directory holding the npm pack tarballs")
	uas := flag.String("uas", "", "uap-go's uas file")
	logs := flag.String("logs", "", "directory of the real access logs")
	flag.Parse()

	var rows []row
	seen := map[string]bool{}
	add := func(source string, uas []string, weight func(string) int) {
		var fresh []row
		for _, ua := range uas {
			// A tab or newline would break the file's format; no real
			// User-Agent in the sources has one.
			if ua == "" || seen[ua] || strings.ContainsAny(ua, "\t\r\n") {
				continue
			}
			seen[ua] = true
			fresh = append(fresh, row{source, weight(ua), ua})
		}
		slices.SortFunc(fresh, func(a, b row) int { return strings.Compare(a.ua, b.ua) })
		rows = append(rows, fresh...)
	}
	unweighted := func(string) int { return 0 }

	// The latest intoli release first, so that it keeps the weights of
	// the User-Agents other sources share with it.
	weights := map[string]float64{}
	var latest []string
	for _, p := range intoliProfiles(*npm, latestIntoli) {
		weights[p.UserAgent] += p.Weight
		latest = append(latest, p.UserAgent)
	}
	add("user-agents@"+latestIntoli, latest, func(ua string) int { return max(1, int(math.Round(weights[ua]*1e6))) })

	add("access-logs", accessLogUAs(*logs), unweighted)
	add("top-user-agents@2.1.138", append(
		jsonStrings(tgzFile(*npm, "top-user-agents-2.1.138.tgz", "package/src/index.json")),
		jsonStrings(tgzFile(*npm, "top-user-agents-2.1.138.tgz", "package/src/mobile.json"))...), unweighted)

	// Chrome OS is about 0.5% of browser traffic, too little for a
	// sample of a few thousand to measure its bucket; the older releases
	// give all theirs.
	for _, v := range olderIntoli {
		var drawn []string
		for _, p := range intoliProfiles(*npm, v) {
			if keep(p.UserAgent, 8) || strings.Contains(p.UserAgent, "CrOS") {
				drawn = append(drawn, p.UserAgent)
			}
		}
		add("user-agents@"+v, drawn, unweighted)
	}

	var crawlers []struct{ Instances []string }
	if err := json.Unmarshal(tgzFile(*npm, "crawler-user-agents-1.60.0.tgz", "package/crawler-user-agents.json"), &crawlers); err != nil {
		log.Fatal(err)
	}
	var instances []string
	for _, c := range crawlers {
		for _, ua := range c.Instances {
			if keep(ua, 3) {
				instances = append(instances, ua)
			}
		}
	}
	add("crawler-user-agents@1.60.0", instances, unweighted)

	var fromUAS []string
	for _, ua := range lines(*uas) {
		if keep(ua, 4) {
			fromUAS = append(fromUAS, ua)
		}
	}
	add("uap-go/uas", fromUAS, unweighted)

	w := bufio.NewWriter(os.Stdout)
	fmt.Fprintln(w, "# source\tweight\tuser-agent; drawn by testdata/mkcorpus, sources in SOURCES.md")
	for _, r := range rows {
		fmt.Fprintf(w, "%s\t%d\t%s\n", r.source, r.weight, r.ua)
	}
	if err := w.Flush(); err != nil {
		log.Fatal(err)
	}
}

func keep(ua string, k uint32) bool {
	h := fnv.New32a()
	h.Write([]byte(ua))
	return h.Sum32()%k == 0
}

// accessLogUAs returns the User-Agent field of every combined-format line.
func accessLogUAs(dir string) []string {
	paths, err := filepath.Glob(filepath.Join(dir, "*.log"))
	if err != nil || len(paths) == 0 {
		log.Fatalf("no logs in %q: %v", dir, err)
	}
	var uas []string
	for _, p := range paths {
		for _, l := range lines(p) {
			if f := strings.Split(l, `"`); len(f) >= 6 {
				uas = append(uas, f[5])
			}
		}
	}
	return uas
}

type profile struct {
	UserAgent string  `json:"userAgent"`
	Weight    float64 `json:"weight"`
}

// intoliProfiles reads a user-agents release's data, stored gzipped in
// src/ by older releases and plain in dist/ by newer ones.
func intoliProfiles(dir, version string) []profile {
	tgz := "user-agents-" + version + ".tgz"
	data := tgzFile(dir, tgz, "package/src/user-agents.json.gz", "package/dist/user-agents.json")
	if zr, err := gzip.NewReader(bytes.NewReader(data)); err == nil {
		if data, err = io.ReadAll(zr); err != nil {
			log.Fatal(err)
		}
	}
	var ps []profile
	if err := json.Unmarshal(data, &ps); err != nil {
		log.Fatalf("%s: %v", tgz, err)
	}
	return ps
}

// tgzFile returns the first of names found in the tarball.
func tgzFile(dir, tgz string, names ...string) []byte {
	f, err := os.Open(filepath.Join(dir, tgz))
	if err != nil {
		log.Fatal(err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		log.Fatal(err)
	}
	tr := tar.NewReader(zr)
	for {
		h, err := tr.Next()
		if err != nil {
			log.Fatalf("%s: none of %v: %v", tgz, names, err)
		}
		if slices.Contains(names, h.Name) {
			b, err := io.ReadAll(tr)
			if err != nil {
				log.Fatal(err)
			}
			return b
		}
	}
}

func jsonStrings(b []byte) []string {
	var s []string
	if err := json.Unmarshal(b, &s); err != nil {
		log.Fatal(err)
	}
	return s
}

func lines(path string) []string {
	b, err := os.ReadFile(path)
	if err != nil {
		log.Fatal(err)
	}
	return strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")
}
