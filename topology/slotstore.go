package topology

import (
	"fmt"
	"hash"
	"slices"
	"strconv"
	"sync"

	"github.com/lovoo/goka"
	"github.com/lovoo/goka/storage"

	"github.com/oscheck/oscheck/state"
)

// slotStore is the local storage of a window table partition, in memory:
// goka writes it both when it restores the table from its changelog and
// when the window stage sets a slot, and the stage writes a slot's parts
// there itself (processor.WindowStageConfig.Store). Of the value stored under
// a key and a new one, it keeps the one state.SlotSupersedes prefers, so
// that a previous owner's write that landed in the changelog after the new
// owner's (nothing fences it in at_least_once mode) cannot roll a slot or a
// part back. It counts the bytes of the values it holds.
//
// It is goka's memory storage without the sorted list of keys that one
// keeps: a write of a new key there costs a pass over every key, and a
// slot's partition holds a key per part, thousands while a source lags.
// Iterators sort the keys instead, when they start.
type slotStore struct {
	mu     sync.RWMutex
	values map[string][]byte
	offset *int64
	bytes  int64
	closed func()
}

func newSlotStore() *slotStore { return &slotStore{values: make(map[string][]byte)} }

// Set stores value under key unless the value stored there has applied
// further. It fails if either value is not an encoded slot or part.
func (s *slotStore) Set(key string, value []byte) error {
	if value == nil {
		return fmt.Errorf("window table key %q: cannot store nil", key)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	stored, ok := s.values[key]
	if ok {
		newer, err := state.SlotSupersedes(stored, value)
		if err != nil {
			return fmt.Errorf("window table key %q: %w", key, err)
		}
		if !newer {
			return nil
		}
	}
	s.values[key] = value
	s.bytes += int64(len(value) - len(stored))
	return nil
}

// Delete deletes the value under key.
func (s *slotStore) Delete(key string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.bytes -= int64(len(s.values[key]))
	delete(s.values, key)
	return nil
}

func (s *slotStore) Get(key string) ([]byte, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.values[key], nil
}

func (s *slotStore) Has(key string) (bool, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	_, ok := s.values[key]
	return ok, nil
}

// Iterator iterates over a snapshot of the storage, in key order.
func (s *slotStore) Iterator() (storage.Iterator, error) { return s.IteratorWithRange(nil, nil) }

// IteratorWithRange iterates over a snapshot of the keys in [start, limit]
// (limit "": every key from start on), in key order.
func (s *slotStore) IteratorWithRange(start, limit []byte) (storage.Iterator, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	it := &slotIterator{at: -1, values: make(map[string][]byte)}
	for k, v := range s.values {
		if k >= string(start) && (len(limit) == 0 || k <= string(limit)) {
			it.keys = append(it.keys, k)
			it.values[k] = v
		}
	}
	slices.Sort(it.keys)
	return it, nil
}

func (s *slotStore) GetOffset(def int64) (int64, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.offset == nil {
		return def, nil
	}
	return *s.offset, nil
}

func (s *slotStore) SetOffset(offset int64) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.offset = &offset
	return nil
}

func (s *slotStore) MarkRecovered() error { return nil }
func (s *slotStore) Open() error          { return nil }

// Close tells the stage's stores that goka is done with the partition.
func (s *slotStore) Close() error {
	if s.closed != nil {
		s.closed()
	}
	return nil
}

func (s *slotStore) size() int64 {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.bytes
}

// slotIterator iterates over a snapshot of a slotStore.
type slotIterator struct {
	keys   []string
	values map[string][]byte
	at     int
}

func (i *slotIterator) Next() bool {
	i.at++
	return i.at < len(i.keys)
}

func (i *slotIterator) Err() error { return nil }

func (i *slotIterator) Key() []byte {
	if i.at < 0 || i.at >= len(i.keys) {
		return nil
	}
	return []byte(i.keys[i.at])
}

func (i *slotIterator) Value() ([]byte, error) {
	if i.at < 0 || i.at >= len(i.keys) {
		return nil, nil
	}
	return i.values[i.keys[i.at]], nil
}

func (i *slotIterator) Release() { i.at = len(i.keys) }

// Seek moves to the first key at or after key, and reports whether there is
// one.
func (i *slotIterator) Seek(key []byte) bool {
	i.at, _ = slices.BinarySearch(i.keys, string(key))
	return i.at < len(i.keys)
}

// slotStorage is the storage builder for the window table's views: one
// slotStore per partition.
func slotStorage() storage.Builder {
	return func(string, int32) (storage.Storage, error) { return newSlotStore(), nil }
}

// slotStores is the window stage's local storage of the window table: the
// slotStore goka built last for each partition and has not closed.
type slotStores struct {
	mu sync.Mutex
	m  map[int32]*slotStore
}

func newSlotStores() *slotStores { return &slotStores{m: make(map[int32]*slotStore)} }

// builder is the storage builder for the window stage.
func (s *slotStores) builder() storage.Builder {
	return func(_ string, partition int32) (storage.Storage, error) {
		st := newSlotStore()
		st.closed = func() {
			s.mu.Lock()
			defer s.mu.Unlock()
			if s.m[partition] == st {
				delete(s.m, partition)
			}
		}
		s.mu.Lock()
		defer s.mu.Unlock()
		s.m[partition] = st
		return st, nil
	}
}

// get returns the storage of partition, nil if goka has none open.
func (s *slotStores) get(partition int32) storage.Storage {
	s.mu.Lock()
	defer s.mu.Unlock()
	if st := s.m[partition]; st != nil {
		return st
	}
	return nil
}

// bytes returns the size of the values all open storages hold.
func (s *slotStores) bytes() int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	var n int64
	for _, st := range s.m {
		n += st.size()
	}
	return n
}

// partKeys names the window table keys of the slots' parts.
type partKeys struct{ n int32 }

func newPartKeys(n int32) *partKeys { return &partKeys{n: n} }

// key returns the key of part id of the slot in partition p: the first of
// part/<window>/<source>/<k>, k = 0, 1, ..., that goka's partitioner sends to
// p, so that every instance finds the same one. goka's hash partitioner
// spreads keys evenly, so that takes about n tries; each hashes the digits
// of k only, on from the hash of the rest (a part is named when written and
// again when deleted: a search of n Sprintfs and partitioner calls cost 77 µs
// with 128 partitions).
func (k *partKeys) key(p int32, id state.PartID) string {
	b := make([]byte, 0, 64)
	b = append(b, "part/"...)
	b = strconv.AppendInt(b, id.Window, 10)
	b = append(b, '/')
	b = strconv.AppendInt(b, int64(id.Source), 10)
	b = append(b, '/')
	prefix, n := fnv1a(fnvOffset, b), len(b)
	for i := int64(0); ; i++ {
		b = strconv.AppendInt(b[:n], i, 10)
		if hashPartition(fnv1a(prefix, b[n:]), k.n) == p {
			return string(b)
		}
	}
}

// fnv1a continues the 32-bit FNV-1a hash h over b: goka's default hasher.
func fnv1a(h uint32, b []byte) uint32 {
	for _, c := range b {
		h ^= uint32(c)
		h *= 16777619
	}
	return h
}

const fnvOffset uint32 = 2166136261

// hashPartition is the partition sarama's hash partitioner (as goka's
// producers build it: NewCustomHashPartitioner) gives a key of hash h among
// n.
func hashPartition(h uint32, n int32) int32 {
	p := int32(h) % n
	if p < 0 {
		p = -p
	}
	return p
}

// partsProducer sends what the window stage emits to its parts stream (a
// name, not a topic: goka refuses emits to a table) to the window table's
// changelog, through the stage's producer and so in the order emitted.
type partsProducer struct {
	goka.Producer
	parts, table string
}

func (p partsProducer) Emit(topic, key string, value []byte) *goka.Promise {
	if topic == p.parts {
		topic = p.table
	}
	return p.Producer.Emit(topic, key, value)
}

func (p partsProducer) EmitWithHeaders(topic, key string, value []byte, headers goka.Headers) *goka.Promise {
	if topic == p.parts {
		topic = p.table
	}
	return p.Producer.EmitWithHeaders(topic, key, value, headers)
}

// withParts makes the producers b builds send the parts stream of group to
// its table's changelog.
func withParts(b goka.ProducerBuilder, group goka.Group) goka.ProducerBuilder {
	return func(brokers []string, clientID string, hasher func() hash.Hash32) (goka.Producer, error) {
		p, err := b(brokers, clientID, hasher)
		if err != nil {
			return nil, err
		}
		return partsProducer{Producer: p, parts: string(partsStream(group)), table: string(goka.GroupTable(group))}, nil
	}
}
