package traffic

import "math/rand/v2"

// weighted draws items with fixed relative frequencies. Tables are small, so
// a linear scan over cumulative weights beats anything cleverer.
type weighted[T any] struct {
	items []T
	cum   []uint32
	total uint32
}

type choice[T any] struct {
	weight uint32
	item   T
}

func newWeighted[T any](choices ...choice[T]) weighted[T] {
	var w weighted[T]
	for _, c := range choices {
		if c.weight == 0 {
			panic("traffic: zero weight in table")
		}
		w.total += c.weight
		w.items = append(w.items, c.item)
		w.cum = append(w.cum, w.total)
	}
	return w
}

func (w *weighted[T]) pick(r *rand.Rand) T {
	n := r.Uint32N(w.total)
	for i, c := range w.cum {
		if n < c {
			return w.items[i]
		}
	}
	panic("unreachable: n < total")
}
