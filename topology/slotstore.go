package topology

import (
	"fmt"

	"github.com/lovoo/goka/storage"

	"github.com/oscheck/oscheck/state"
)

// slotStore is the local storage of the window table, in memory: goka writes
// it both when it restores the table from its changelog and when the window
// stage sets a value. Of the value stored under a key and a new one, it keeps
// the one state.SlotSupersedes prefers, so that a previous owner's write that
// landed in the changelog after the new owner's (nothing fences it in
// at_least_once mode) cannot roll a slot back. Everything else is the
// wrapped storage's.
type slotStore struct {
	storage.Storage
}

// Set stores value under key unless the value stored there has applied
// further. It fails if either value is not an encoded slot.
func (s slotStore) Set(key string, value []byte) error {
	stored, err := s.Storage.Get(key)
	if err != nil {
		return fmt.Errorf("window table key %q: %w", key, err)
	}
	if stored != nil {
		newer, err := state.SlotSupersedes(stored, value)
		if err != nil {
			return fmt.Errorf("window table key %q: %w", key, err)
		}
		if !newer {
			return nil
		}
	}
	return s.Storage.Set(key, value)
}

// slotStorage is the storage builder for the window table's processor and
// views: one slotStore per partition.
func slotStorage() storage.Builder {
	return func(string, int32) (storage.Storage, error) {
		return slotStore{storage.NewMemory()}, nil
	}
}
