package state

import "sort"

// Intervals is a set of half-open ranges [From, To), kept sorted, disjoint and
// merged. It records which windows a source has claimed; in steady state it is
// a single range, and it holds more only while claims arrive out of order.
type Intervals []Interval

// Interval is the half-open range [From, To).
type Interval struct {
	From int64 `json:"from"`
	To   int64 `json:"to"`
}

// Add returns the set with [from, to) added.
func (s Intervals) Add(from, to int64) Intervals {
	if from >= to {
		return s
	}
	out := make(Intervals, 0, len(s)+1)
	i := 0
	for ; i < len(s) && s[i].To < from; i++ {
		out = append(out, s[i])
	}
	for ; i < len(s) && s[i].From <= to; i++ {
		from = min(from, s[i].From)
		to = max(to, s[i].To)
	}
	out = append(out, Interval{from, to})
	return append(out, s[i:]...)
}

// Covers reports whether [from, to) lies inside one range of the set.
func (s Intervals) Covers(from, to int64) bool {
	i := sort.Search(len(s), func(i int) bool { return s[i].To >= to })
	return i < len(s) && s[i].From <= from
}

// Union returns the ranges that lie in either set.
func (s Intervals) Union(o Intervals) Intervals {
	for _, r := range o {
		s = s.Add(r.From, r.To)
	}
	return s
}

// Intersect returns the ranges that lie in both sets.
func (s Intervals) Intersect(o Intervals) Intervals {
	var out Intervals
	for i, j := 0, 0; i < len(s) && j < len(o); {
		if from, to := max(s[i].From, o[j].From), min(s[i].To, o[j].To); from < to {
			out = append(out, Interval{from, to})
		}
		if s[i].To < o[j].To {
			i++
		} else {
			j++
		}
	}
	return out
}
