package topology

import (
	"github.com/lovoo/goka"
	"github.com/lovoo/goka/codec"

	"github.com/oscheck/oscheck/processor"
	"github.com/oscheck/oscheck/state"
)

// parseGraph is the parse stage: raw records in; reports, dead letters and
// (optionally) late records out. It has no table: its state is rebuilt by
// replay (see processor.Parser).
func parseGraph(t Topics, p *processor.Parser) *goka.GroupGraph {
	edges := []goka.Edge{
		goka.Input(t.Input, new(codec.Bytes), p.Consume),
		goka.Output(t.Repartition, state.ReportCodec{}),
		goka.Output(t.DeadLetter, new(codec.Bytes)),
	}
	if t.Late != "" {
		edges = append(edges, goka.Output(t.Late, new(codec.Bytes)))
	}
	return goka.DefineGroup(t.ParseGroup, edges...)
}

// windowGraph is the window stage: reports in, one slot per table key,
// window counts out.
func windowGraph(t Topics, w *processor.Windower) *goka.GroupGraph {
	return goka.DefineGroup(t.WindowGroup,
		goka.Input(t.Repartition, state.ReportCodec{}, w.Consume),
		goka.Persist(state.SlotCodec{}),
		goka.Output(t.Output, new(codec.Bytes)),
	)
}
