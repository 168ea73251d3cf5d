package state

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"reflect"
	"strings"
	"testing"
)

func TestReportCodecRoundTrip(t *testing.T) {
	reports := []*Report{
		{},
		{Source: 0, Sources: 1, From: Unbounded, To: 0},
		{Source: 3, Sources: 6, From: Unbounded, To: 1_700_000_040_000, Partials: []Partial{
			{Start: 1_699_999_980_000, Counts: map[string]int64{"linux": 3, "windows": 1}},
			{Start: -60_000, Counts: map[string]int64{}},
			{Start: math.MinInt64, Counts: map[string]int64{"other": math.MaxInt64}},
		}},
		{Source: 5, Sources: 6, From: 120_000, To: 180_000, Partials: []Partial{{Start: 120_000, Counts: map[string]int64{"": 1, "ünïcode \"os\"": 2}}}},
		{Source: 1, Sources: 2, From: math.MaxInt64 - 1, To: math.MaxInt64},
	}
	for _, r := range reports {
		b, err := ReportCodec{}.Encode(r)
		if err != nil {
			t.Fatalf("Encode(%+v): %v", r, err)
		}
		v, err := ReportCodec{}.Decode(b)
		if err != nil {
			t.Fatalf("Decode(%s): %v", b, err)
		}
		got, ok := v.(*Report)
		if !ok {
			t.Fatalf("Decode returned %T", v)
		}
		if !reflect.DeepEqual(got, r) {
			t.Fatalf("round trip of %+v gave %+v (via %s)", r, got, b)
		}
	}
}

func TestReportCodecReadable(t *testing.T) {
	b, err := ReportCodec{}.Encode(&Report{Source: 1, Sources: 2, From: Unbounded, To: 60_000,
		Partials: []Partial{{Start: 0, Counts: map[string]int64{"linux": 2}}}})
	if err != nil {
		t.Fatal(err)
	}
	want := `{"source":1,"sources":2,"from":-9223372036854775808,"to":60000,"partials":[{"start":0,"counts":{"linux":2}}]}`
	if string(b) != want {
		t.Fatalf("Encode = %s, want %s", b, want)
	}
	// A report without partials leaves the field out.
	b, _ = ReportCodec{}.Encode(&Report{Sources: 1, To: 1})
	if strings.Contains(string(b), "partials") {
		t.Fatalf("empty partials encoded: %s", b)
	}
}

func TestSlotCodecRoundTrip(t *testing.T) {
	empty := NewSlot()

	busy := NewSlot()
	for i, r := range []*Report{
		rep(0, 3, Unbounded, 2000, part(1000, counts{"linux": 2})),
		rep(1, 3, 4000, 6000, part(5000, counts{"ios": 1})),
		rep(2, 3, Unbounded, 3000),
		rep(1, 3, Unbounded, 2000, part(1000, counts{"macos": 1})),
	} {
		busy.Apply(r, int64(10+i), slotCfg)
	}
	if len(busy.Finals()) == 0 || busy.OpenWindows() == 0 || len(busy.Claims[1]) != 2 {
		t.Fatalf("test slot not busy enough: %+v", busy)
	}

	extreme := NewSlot()
	extreme.Sources = 2
	extreme.Claims = map[int32]Intervals{0: {{Unbounded, math.MaxInt64}}, 1: {}}
	extreme.Joined = map[int32]Intervals{1: {{-120_000, -60_000}}}
	extreme.Applied, extreme.Base, extreme.Topic = math.MaxInt64, 7, "topic-id"
	extreme.Closed = []Closed{{Start: -60_000, Offset: 0}}
	extreme.count(&Part{Applied: math.MaxInt64, Window: math.MinInt64, Source: 0, Counts: counts{}}, false)
	extreme.count(&Part{Applied: 0, Window: -5, Source: math.MaxInt32, Counts: counts{"a": -1}}, false)

	for name, s := range map[string]*Slot{"empty": empty, "busy": busy, "extreme": extreme} {
		got := storeOf(t, s).load(t)
		if want := snapshot(t, s); snapshot(t, got) != want {
			t.Fatalf("%s: round trip of\n%s\ngave\n%s", name, want, snapshot(t, got))
		}
		if !reflect.DeepEqual(got.Open(), s.Open()) || !reflect.DeepEqual(got.Finals(), s.Finals()) ||
			got.OpenWindows() != s.OpenWindows() {
			t.Fatalf("%s: round trip: open %v finals %v, want %v %v", name, got.Open(), got.Finals(), s.Open(), s.Finals())
		}
	}

	// A decoded slot goes on exactly like the original.
	copied := storeOf(t, busy).load(t)
	next := rep(1, 3, 2000, 6000)
	if o1, o2 := busy.Apply(next, 20, slotCfg), copied.Apply(next, 20, slotCfg); !reflect.DeepEqual(o1, o2) {
		t.Fatalf("decoded slot diverged: %+v vs %+v", o2, o1)
	}
	if snapshot(t, busy) != snapshot(t, copied) {
		t.Fatalf("decoded slot diverged:\n%s\n%s", snapshot(t, copied), snapshot(t, busy))
	}
}

// TestSlotCodecDecodesOlderSlots: a slot written before parts had values of
// their own (its counts in "open" and "finals") decodes with those counts as
// parts of source Carried, which Changes returns to be written; it goes on
// counting from them.
func TestSlotCodecDecodesOlderSlots(t *testing.T) {
	old := `{"applied":7,"sources":2,"claims":{"0":[{"from":-9223372036854775808,"to":2000}]},` +
		`"open":{"1000":{"linux":2}},"finals":[{"start":0,"counts":{"ios":1},"offset":5}],` +
		`"updates":[{"start":1000,"counts":{"linux":2},"offset":7}]}`
	v, err := SlotCodec{}.Decode([]byte(old))
	if err != nil {
		t.Fatal(err)
	}
	s := v.(*Slot)
	if got := s.Open(); !reflect.DeepEqual(got, map[int64]map[string]int64{1000: {"linux": 2}}) {
		t.Fatalf("open %v", got)
	}
	if got := s.Finals(); !reflect.DeepEqual(got, []Final{fin(0, 5, counts{"ios": 1})}) {
		t.Fatalf("finals %v", got)
	}
	written, deleted := s.Changes()
	if len(written) != 2 || len(deleted) != 0 || written[0].Source != Carried || written[1].Source != Carried {
		t.Fatalf("changes after decoding: written %+v, deleted %+v; want the two carried parts", written, deleted)
	}
	if b := encodeSlot(t, s); bytes.Contains(b, []byte(`"open"`)) || bytes.Contains(b, []byte(`"counts"`)) {
		t.Fatalf("the slot is written with counts again: %s", b)
	}
	applyWant(t, s, rep(1, 2, Unbounded, 2000, part(1000, counts{"linux": 1})), 8, slotCfg, Output{
		Finals:  []Final{fin(1000, 8, counts{"linux": 3})},
		Updates: []Final{fin(1000, 8, counts{"linux": 3})},
	})
}

// TestSlotCodecDecodeDefaults: a value without fields decodes to a new slot,
// usable at once.
func TestSlotCodecDecodeDefaults(t *testing.T) {
	v, err := SlotCodec{}.Decode([]byte(`{}`))
	if err != nil {
		t.Fatal(err)
	}
	s := v.(*Slot)
	if !reflect.DeepEqual(s, NewSlot()) {
		t.Fatalf("Decode({}) = %+v, want a new slot", s)
	}
	out := s.Apply(rep(0, 1, Unbounded, 1000, part(0, counts{"a": 1})), 0, slotCfg)
	if len(out.Finals) != 1 {
		t.Fatalf("decoded empty slot: Apply gave %+v", out)
	}
}

func TestCodecErrors(t *testing.T) {
	if _, err := (ReportCodec{}).Encode(Report{}); err == nil {
		t.Error("ReportCodec encoded a Report value (not a pointer)")
	}
	if _, err := (ReportCodec{}).Encode(NewSlot()); err == nil {
		t.Error("ReportCodec encoded a *Slot")
	}
	if _, err := (ReportCodec{}).Encode(nil); err == nil {
		t.Error("ReportCodec encoded nil")
	}
	if _, err := (SlotCodec{}).Encode(&Report{}); err == nil {
		t.Error("SlotCodec encoded a *Report")
	}
	if _, err := (SlotCodec{}).Encode("slot"); err == nil {
		t.Error("SlotCodec encoded a string")
	}

	garbage := []string{
		``,
		`not json`,
		`{`,
		`[1,2,3]`,
		`"report"`,
		`42`,
		`{"from":"x"}`,
		`{"from":1e400}`,
		`{"from":-9223372036854775809}`,
		`{"to":1.5}`,
		`{"source":4294967296}`,
		`{"partials":{"start":1}}`,
		`{"partials":[{"counts":{"linux":"many"}}]}`,
		`{"source":1}trailing`,
		"\xff\xfe",
	}
	for _, g := range garbage {
		if v, err := (ReportCodec{}).Decode([]byte(g)); err == nil {
			t.Errorf("ReportCodec.Decode(%q) = %+v, want an error", g, v)
		} else if !strings.Contains(err.Error(), "report codec") {
			t.Errorf("ReportCodec.Decode(%q): error %q does not say where", g, err)
		}
	}
	slotGarbage := []string{
		``,
		`not json`,
		`{"claims":[]}`,
		`{"claims":{"zero":[]}}`,
		`{"claims":{"0":[{"from":"a"}]}}`,
		`{"open":{"x":{}}}`,
		`{"applied":"-1"}`,
		`{"finals":{}}`,
		`{"finals":[{"counts":[1]}]}`,
		`{"sources":-2147483649}`,
	}
	for _, g := range slotGarbage {
		if v, err := (SlotCodec{}).Decode([]byte(g)); err == nil {
			t.Errorf("SlotCodec.Decode(%q) = %+v, want an error", g, v)
		} else if !strings.Contains(err.Error(), "slot codec") {
			t.Errorf("SlotCodec.Decode(%q): error %q does not say where", g, err)
		}
	}
}

// TestCodecUnboundedExact: Unbounded survives JSON exactly (it is not
// representable as a float64-exact integer next to its neighbours).
func TestCodecUnboundedExact(t *testing.T) {
	for _, v := range []int64{Unbounded, Unbounded + 1, math.MaxInt64, math.MaxInt64 - 1} {
		b, _ := ReportCodec{}.Encode(&Report{From: v, To: v})
		d, err := ReportCodec{}.Decode(b)
		if err != nil {
			t.Fatal(err)
		}
		if r := d.(*Report); r.From != v || r.To != v {
			t.Fatalf("%d came back as %d/%d", v, r.From, r.To)
		}
		var raw map[string]json.RawMessage
		_ = json.Unmarshal(b, &raw)
		if !bytes.Contains(raw["from"], []byte("9223372036854775")) {
			t.Fatalf("from encoded as %s", raw["from"])
		}
	}
}

func TestSlotSupersedes(t *testing.T) {
	at := func(applied int64) []byte {
		s := NewSlot()
		s.Apply(rep(0, 2, Unbounded, 2000, part(1000, counts{"linux": 1})), 0, slotCfg)
		s.Applied = applied
		return encodeSlot(t, s)
	}
	// As SlotCodec wrote slots before Applied was the first field.
	old := func(applied int64) []byte {
		return fmt.Appendf(nil, `{"sources":2,"claims":{"0":[{"from":0,"to":2000}]},"applied":%d,"finals":[{"start":0,"counts":{"a":1},"offset":%[1]d}]}`, applied)
	}
	tests := []struct {
		name       string
		prev, next []byte
		want       bool
	}{
		{"higher", at(5), at(9), true},
		{"lower: a stale write", at(9), at(5), false},
		{"equal: the newer", at(7), at(7), true},
		{"from a new slot", encodeSlot(t, NewSlot()), at(0), true},
		{"to a new slot", at(0), encodeSlot(t, NewSlot()), false},
		{"extremes", at(math.MaxInt64), at(math.MinInt64), false},
		{"old encoding, lower", old(12), at(11), false},
		{"old encoding, equal", at(12), old(12), true},
		{"no applied: a new slot", []byte(`{"sources":1}`), at(-1), true},
		{"no applied against 0", at(0), []byte(`{}`), false},
		{"spaces", []byte(` { "applied" : 4 } `), []byte("{\n\"applied\": 3}"), false},
		{"applied null", []byte(`{"applied":null}`), at(-1), true},
		// Only Applied is read; the rest of a value goes unchecked.
		{"rest unread", at(3), []byte(`{"applied":4,not json`), true},
	}
	for _, tt := range tests {
		got, err := SlotSupersedes(tt.prev, tt.next)
		if err != nil || got != tt.want {
			t.Errorf("%s: SlotSupersedes(%s, %s) = %v, %v; want %v", tt.name, tt.prev, tt.next, got, err, tt.want)
		}
	}

	if b := encodeSlot(t, NewSlot()); !bytes.HasPrefix(b, appliedPrefix) {
		t.Errorf("SlotCodec encodes %s: Applied is not read without decoding the rest", b)
	}

	for _, g := range []string{``, `not json`, `{"applied":"5"}`, `{"applied":1e400}`, `[1]`, `{"applied":5`} {
		if _, err := SlotSupersedes([]byte(g), at(1)); err == nil || !strings.Contains(err.Error(), "stored value") {
			t.Errorf("SlotSupersedes(%q, valid) error %v, want one about the stored value", g, err)
		}
		if _, err := SlotSupersedes(at(1), []byte(g)); err == nil || !strings.Contains(err.Error(), "new value") {
			t.Errorf("SlotSupersedes(valid, %q) error %v, want one about the new value", g, err)
		}
	}
}
