package state

import (
	"fmt"
	"testing"
)

// BenchmarkSlotApplyWaiting: one report of the source that runs ahead,
// claiming one more window, into a slot whose other source lags by n
// windows: with the encoding of what the window stage writes for it, the
// slot's value and the parts it changed (encode), and without.
func BenchmarkSlotApplyWaiting(b *testing.B) {
	for _, n := range []int{100, 4000} {
		for _, encode := range []bool{false, true} {
			b.Run(fmt.Sprintf("waiting=%d/encode=%v", n, encode), func(b *testing.B) {
				c := SlotConfig{Windows: Windows{1000}, Retain: 64}
				s := NewSlot()
				s.Apply(rep(1, 2, Unbounded, 0), 0, c)
				for i := range int64(n) {
					s.Apply(rep(0, 2, i*1000, (i+1)*1000, part(i*1000, counts{"android": 3, "ios": 2})), i+1, c)
				}
				next := int64(n)
				b.ResetTimer()
				for b.Loop() {
					s.Apply(rep(0, 2, next*1000, (next+1)*1000, part(next*1000, counts{"android": 3, "ios": 2})), next+1, c)
					written, _ := s.Changes()
					if encode {
						for _, v := range append([]any{s}, written[0]) {
							if _, err := (SlotCodec{}).Encode(v); err != nil {
								b.Fatal(err)
							}
						}
					}
					next++
				}
			})
		}
	}
}
