package topology

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/lovoo/goka"

	"github.com/oscheck/oscheck/state"
)

// ErrNotRecovered is Windows' error while the instance's view of the window
// table is still reading the table's changelog.
var ErrNotRecovered = errors.New("the view of the window table is still recovering")

// newView returns a view of the whole window table, so that every instance
// answers a query about any window, whichever instance's window stage owns
// its slot. The table holds a slot and its parts per partition: the counts
// of the windows not final yet and of the newest finals.
func (s *Service) newView() (*goka.View, error) {
	v, err := goka.NewView(s.cfg.Brokers, goka.GroupTable(s.topics.WindowGroup), state.SlotCodec{},
		goka.WithViewClientID(s.cfg.ClientID+"-view"),
		goka.WithViewStorageBuilder(slotStorage()),
		goka.WithViewConsumerSaramaBuilder(goka.SaramaConsumerBuilderWithConfig(s.clients.Sarama())),
		goka.WithViewTopicManagerBuilder(s.tmb),
		goka.WithViewLogger(gokaLogger{s.log}),
		goka.WithViewAutoReconnect(),
		// goka's default waits 10 s more after each lost connection, up to
		// 2 minutes, while the view answers from what it has.
		goka.WithViewBackoffBuilder(func() (goka.Backoff, error) {
			return goka.NewSimpleBackoff(time.Second, 10*time.Second), nil
		}))
	if err != nil {
		return nil, fmt.Errorf("view of %s: %w", goka.GroupTable(s.topics.WindowGroup), err)
	}
	return v, nil
}

// runView runs the view until ctx is done. Readers hold viewMu, and the
// view stops only after they are shut out: goka's view drops its partitions
// while stopping, under a Get.
func (s *Service) runView(ctx context.Context) error {
	viewCtx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		<-ctx.Done()
		s.viewMu.Lock()
		s.viewClosed = true
		s.viewMu.Unlock()
		cancel()
	}()
	return s.view.Run(viewCtx)
}

// heads returns the slot of every slot key, by partition, nil for a
// partition without one, without their parts. The caller must hold viewMu
// and have checked that the view is open and recovered.
func (s *Service) heads() ([]*state.Slot, error) {
	slots := make([]*state.Slot, len(s.slotKeys))
	for i, key := range s.slotKeys {
		v, err := s.view.Get(key)
		if err != nil {
			return nil, fmt.Errorf("reading slot %q: %w", key, err)
		}
		slots[i], _ = v.(*state.Slot)
	}
	return slots, nil
}

// slots calls f with the slot of every slot key the table holds, with its
// parts, with the view open and recovered.
//
// The slots and their parts come from one iterator: goka takes a snapshot of
// every partition's storage when it starts, and the view writes a partition
// in the changelog's order, so each slot is read with the parts it had. A
// slot read before the parts (Get) could be older than them: its view
// consumer may meanwhile have applied a later report's deletes of the parts
// of a final the older slot still keeps, and the query would show that
// window final with a count it never had.
func (s *Service) slots(f func(*state.Slot)) error {
	s.viewMu.RLock()
	defer s.viewMu.RUnlock()
	if s.viewClosed || !s.view.Recovered() {
		return ErrNotRecovered
	}
	index := make(map[string]int, len(s.slotKeys))
	for i, key := range s.slotKeys {
		index[key] = i
	}
	slots := make([]*state.Slot, len(s.slotKeys))
	var parts []*state.Part
	it, err := s.view.Iterator()
	if err != nil {
		return fmt.Errorf("reading the window table: %w", err)
	}
	defer it.Release()
	for it.Next() {
		v, err := it.Value()
		if err != nil {
			return fmt.Errorf("reading window table key %q: %w", it.Key(), err)
		}
		switch v := v.(type) {
		case *state.Part:
			parts = append(parts, v)
		case *state.Slot:
			if i, ok := index[it.Key()]; ok {
				slots[i] = v
			}
		}
	}
	if err := it.Err(); err != nil {
		return fmt.Errorf("reading the window table: %w", err)
	}
	for _, p := range parts {
		if slot := slots[state.SlotOf(s.windows, p.Window, int32(len(slots)))]; slot != nil {
			slot.Restore(p)
		}
	}
	for _, slot := range slots {
		if slot != nil {
			f(slot)
		}
	}
	return nil
}

// Windows returns the counts of the last windows (by start) the window table
// holds for osType, or for every os_type when osType is "": the retained
// finals of each slot (retain-finals of them) and the windows some input
// partitions have reported but not all. Windows no partition has closed yet
// exist only in the parse stage's memory and are not in the answer.
func (s *Service) Windows(osType string, last int) ([]state.WindowCount, error) {
	var counts []state.WindowCount
	err := s.slots(func(slot *state.Slot) { counts = append(counts, slot.Query(osType, s.windows)...) })
	if err != nil {
		return nil, err
	}
	return state.Latest(counts, last), nil
}

// latestFinal returns the newest final window of the whole table. It
// reads the slots and that window's parts only: it runs at every scrape.
func (s *Service) latestFinal() (f state.Final, ok bool) {
	s.viewMu.RLock()
	defer s.viewMu.RUnlock()
	if s.viewClosed || !s.view.Recovered() {
		return f, false
	}
	// The slot is read again after its parts: if it changed, a later
	// report may have deleted some of them (see slots), and the newest
	// final is looked for again.
	for range 3 {
		if f, ok, again := s.readLatestFinal(); !again {
			return f, ok
		}
	}
	return f, false
}

// readLatestFinal is latestFinal's one try: again tells that the slot
// changed while its parts were read. The caller holds viewMu, with the view
// open and recovered.
func (s *Service) readLatestFinal() (f state.Final, ok, again bool) {
	slots, err := s.heads()
	if err != nil {
		return f, false, false
	}
	var newest *state.Slot
	var in int32
	for p, slot := range slots {
		if slot == nil {
			continue
		}
		for _, c := range slot.Closed {
			if newest == nil || c.Start > f.Start {
				newest, in, f.Start = slot, int32(p), c.Start
			}
		}
	}
	if newest == nil {
		return f, false, false
	}
	for src := state.Carried; src < newest.Sources; src++ {
		v, err := s.view.Get(s.partKeys.key(in, state.PartID{Window: f.Start, Source: src}))
		if err != nil {
			return f, false, false
		}
		if p, ok := v.(*state.Part); ok {
			newest.Restore(p)
		}
	}
	v, err := s.view.Get(s.slotKeys[in])
	if err != nil {
		return f, false, false
	}
	if now, _ := v.(*state.Slot); now == nil || now.Applied != newest.Applied {
		return f, false, true
	}
	for _, final := range newest.Finals() {
		if final.Start == f.Start {
			return final, true, false
		}
	}
	return f, false, false
}

// TableGet reads a key of the window table from the view, for goka's query
// page.
func (s *Service) TableGet(key string) (any, error) {
	s.viewMu.RLock()
	defer s.viewMu.RUnlock()
	if s.viewClosed || !s.view.Recovered() {
		return nil, ErrNotRecovered
	}
	return s.view.Get(key)
}

// Processors are the parse and window stages' goka processors, for goka's
// monitor page.
func (s *Service) Processors() []*goka.Processor { return []*goka.Processor{s.parse, s.window} }
