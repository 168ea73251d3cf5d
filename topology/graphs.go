package topology

import (
	"github.com/lovoo/goka"
	"github.com/lovoo/goka/codec"

	"github.com/oscheck/oscheck/state"
)

// parseGraph is the parse stage: raw records in; reports, dead letters and
// (optionally) late records out. It has no goka table: its state is restored
// from its checkpoints or rebuilt by replay (see processor.ParseStage). consume
// is processor.ParseStage's Consume, as the gate runs it.
func parseGraph(t Topics, consume goka.ProcessCallback) *goka.GroupGraph {
	edges := []goka.Edge{
		goka.Input(t.Input, new(codec.Bytes), consume),
		goka.Output(t.Repartition, state.ReportCodec{}),
		goka.Output(t.DeadLetter, new(codec.Bytes)),
	}
	if t.Late != "" {
		edges = append(edges, goka.Output(t.Late, new(codec.Bytes)))
	}
	return goka.DefineGroup(t.ParseGroup, edges...)
}

// windowGraph is the window stage: reports in, a slot and its parts per
// table partition, window counts out. consume is processor.WindowStage's
// Consume, as the gate runs it; written is told the size of every slot and
// part written.
func windowGraph(t Topics, consume goka.ProcessCallback, written func(bytes int)) *goka.GroupGraph {
	return goka.DefineGroup(t.WindowGroup,
		goka.Input(t.Repartition, state.ReportCodec{}, consume),
		goka.Persist(sizedCodec{state.SlotCodec{}, written}),
		goka.Output(t.Output, new(codec.Bytes)),
		goka.Output(partsStream(t.WindowGroup), sizedCodec{new(codec.Bytes), written}),
	)
}

// partsStream is the name the window stage emits its slots' parts to: no
// topic ('#' is not allowed in one), but the window table's changelog, to
// which the stage's producer sends them (withParts).
func partsStream(g goka.Group) goka.Stream { return goka.Stream(string(goka.GroupTable(g)) + "#parts") }

// sizedCodec tells written the size of every value it encodes.
type sizedCodec struct {
	goka.Codec
	written func(bytes int)
}

func (c sizedCodec) Encode(v any) ([]byte, error) {
	b, err := c.Codec.Encode(v)
	if err == nil {
		c.written(len(b))
	}
	return b, err
}
