package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"slices"
	"text/tabwriter"

	"github.com/oscheck/oscheck/topology"
)

// throughput preloads the input once and runs every contender on it
// o.runs times, in turn, rotating the order. It reports whether the output of
// every oscheck contender was exactly one right record per window in every
// run.
func throughput(ctx context.Context, o options, w io.Writer) (bool, error) {
	e, err := newEnv(ctx, o, os.Stderr)
	if err != nil {
		return false, err
	}
	defer e.close()
	ins, err := e.preload(ctx)
	if err != nil {
		return false, err
	}
	var results []result
	for run := 1; run <= o.runs; run++ {
		// Each run starts with another contender: whoever goes first after
		// the preload also pays for the broker settling (its GC, its caches).
		n := len(o.contenders)
		for i := range n {
			c := o.contenders[(i+run-1)%n]
			e.logf("run %d: %s", run, c)
			var r result
			if _, ok := oscheckGuarantees[c]; ok {
				r, err = e.runOscheck(ctx, c, run, ins.of(c))
			} else {
				r, err = e.runBaseline(ctx, c, run, ins.normal)
			}
			if err != nil {
				return false, fmt.Errorf("run %d of %s: %w", run, c, err)
			}
			e.logf("run %d: %s: %.0f events/s", run, c, r.perSecond())
			results = append(results, r)
		}
	}
	e.broker.SampleRSS()
	return report(w, o, ins, results, e.broker.PeakRSS()), nil
}

func report(w io.Writer, o options, ins inputs, results []result, brokerRSS int64) (exact bool) {
	in := ins.normal
	fmt.Fprintf(w, "input: %s, %d partitions; %d (os_type, window) results of %v windows, grace %v, %d late%s\n",
		in.about, o.partitions, len(in.want), benchWindow, benchGrace, in.late, foldedNote(in))
	if f := ins.flood; f != nil {
		fmt.Fprintf(w, "flood input: %s, %d records; %d results, %d late%s\n", f.about, f.records, len(f.want), f.late, foldedNote(f))
	}
	fmt.Fprintf(w, "each contender in its own process; the broker (kfake, in memory) in another, peak RSS %.0f MB\n\n", mb(brokerRSS))
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "run\tcontender\tevents/s\tCPU-s per M events\tbroker's\twall\tpeak RSS MB\tRSS at 1/4, 1/2, 3/4, end\toutput records\tone right record per window\t")
	exact = true
	for _, r := range results {
		verdict := "-"
		_, isOscheck := oscheckGuarantees[r.contender]
		switch {
		case isOscheck:
			verdict = "yes"
			if !r.verdict.OnePerWindow() {
				verdict, exact = fmt.Sprintf("NO: %d missing, %d wrong, %d duplicates", r.verdict.Missing,
					r.verdict.WrongCount, r.verdict.DuplicatesIdentical+r.verdict.DuplicatesConflicted), false
			}
		case r.contender == "naive":
			verdict = fmt.Sprintf("no: %.0f per window, last right in %d/%d", float64(r.output)/float64(len(in.want)), r.lastRight, len(in.want))
		}
		fmt.Fprintf(tw, "%d\t%s\t%.0f\t%.2f\t%.2f\t%.2fs\t%.1f\t%.0f %.0f %.0f %.0f\t%d\t%s\t\n", r.run, r.contender, r.perSecond(),
			r.cpuPerMillion(), perMillion(r.brokerCPU, r.events), r.wall.Seconds(), mb(r.peakRSS), mb(r.rss[0]), mb(r.rss[1]), mb(r.rss[2]), mb(r.rss[3]), r.output, verdict)
	}
	tw.Flush()

	medians, peaks := map[string]float64{}, map[string]int64{}
	width := 0
	for _, c := range o.contenders {
		width = max(width, len("oscheck/"+c))
	}
	fmt.Fprintf(w, "\nmedian of %d runs:\n", o.runs)
	for _, c := range o.contenders {
		var rates, cpus []float64
		var peak int64
		for _, r := range results {
			if r.contender == c {
				rates, cpus = append(rates, r.perSecond()), append(cpus, r.cpuPerMillion())
				peak = max(peak, r.peakRSS)
			}
		}
		medians[c], peaks[c] = median(rates), peak
		fmt.Fprintf(w, "  %-*s %10.0f events/s  %5.2f CPU-s per M events  peak RSS %.1f MB\n", width, c, medians[c], median(cpus), mb(peak))
	}
	if m, ok := medians["oscheck"]; ok {
		for _, c := range o.contenders {
			if c != "oscheck" && c != "oscheck-flood" {
				fmt.Fprintf(w, "  %-*s %10.2f\n", width, "oscheck/"+c, m/medians[c])
			}
		}
		if f, ok := medians["oscheck-flood"]; ok {
			// The flood topic's records and, of them, access_log's lines.
			normal := float64(ins.normal.records) / float64(ins.flood.records)
			fmt.Fprintf(w, "  %-*s %10.2f  events/s of its input (each input's records), %.2f counting access_log's lines only; peak RSS %.1f MB against %.1f\n",
				width, "oscheck-flood/oscheck", f/m, f*normal/m, mb(peaks["oscheck-flood"]), mb(peaks["oscheck"]))
		}
	}
	return exact
}

// foldedNote tells how many records the truth counts as other under
// max-os-types, if any.
func foldedNote(in *input) string {
	if in.folded == 0 {
		return ""
	}
	return fmt.Sprintf(", %d counted as other by max-os-types (%d)", in.folded, topology.DefaultConfig().MaxOSTypes)
}

func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	xs = slices.Clone(xs)
	slices.Sort(xs)
	if len(xs)%2 == 1 {
		return xs[len(xs)/2]
	}
	return (xs[len(xs)/2-1] + xs[len(xs)/2]) / 2
}

func mb(b int64) float64 { return float64(b) / (1 << 20) }
