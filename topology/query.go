package topology

import (
	"errors"
	"fmt"

	"github.com/lovoo/goka"
	"github.com/lovoo/goka/storage"

	"github.com/oscheck/oscheck/state"
)

// ErrNotRecovered is Windows' error while the instance's view of the window
// table is still reading the table's changelog.
var ErrNotRecovered = errors.New("the view of the window table is still recovering")

// newView returns a view of the whole window table, so that every instance
// answers a query about any window, whichever instance's window stage owns
// its slot. The table holds one value per slot, so a full copy is small.
func (s *Service) newView() (*goka.View, error) {
	v, err := goka.NewView(s.cfg.Brokers, goka.GroupTable(s.topics.WindowGroup), state.SlotCodec{},
		goka.WithViewClientID(s.cfg.ClientID+"-view"),
		goka.WithViewStorageBuilder(storage.MemoryBuilder()),
		goka.WithViewConsumerSaramaBuilder(goka.SaramaConsumerBuilderWithConfig(saramaConfig(s.cfg))),
		goka.WithViewTopicManagerBuilder(s.tmb),
		goka.WithViewLogger(gokaLogger{s.log}),
		goka.WithViewAutoReconnect())
	if err != nil {
		return nil, fmt.Errorf("view of %s: %w", goka.GroupTable(s.topics.WindowGroup), err)
	}
	return v, nil
}

// Windows returns the counts of the last windows (by start) the window table
// holds for osType, or for every os_type when osType is "": the retained
// finals of each slot (retain-finals of them) and the windows some input
// partitions have reported but not all. Windows no partition has closed yet
// exist only in the parse stage's memory and are not in the answer.
func (s *Service) Windows(osType string, last int) ([]state.WindowCount, error) {
	if !s.view.Recovered() {
		return nil, ErrNotRecovered
	}
	var counts []state.WindowCount
	for _, key := range s.slotKeys {
		v, err := s.view.Get(key)
		if err != nil {
			return nil, fmt.Errorf("reading slot %q: %w", key, err)
		}
		if slot, ok := v.(*state.Slot); ok {
			counts = append(counts, slot.Query(osType, s.windows)...)
		}
	}
	return state.Latest(counts, last), nil
}

// View is the instance's view of the window table, for goka's monitor and
// query pages.
func (s *Service) View() *goka.View { return s.view }

// Processors are the parse and window stages' goka processors, for goka's
// monitor page.
func (s *Service) Processors() []*goka.Processor { return []*goka.Processor{s.parse, s.window} }
