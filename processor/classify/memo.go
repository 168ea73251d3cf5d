package classify

import (
	"fmt"
	"sync"
)

// builtinTable serves every Classifier without user buckets.
var builtinTable = compile(config{})

// maxTables bounds the tables kept for reuse. A process builds a Classifier
// per partition from one configuration, so a handful suffices; past the
// bound a table is built for each Classifier, which costs memory but is
// still correct.
const maxTables = 16

var tables = struct {
	sync.Mutex
	m map[string]*table
}{m: map[string]*table{}}

// tableFor returns the table of cfg, shared with every Classifier built
// from equal options.
func tableFor(cfg config) *table {
	if len(cfg.buckets) == 0 && !cfg.noBuiltins {
		return builtinTable
	}
	key := fmt.Sprintf("%t%q", cfg.noBuiltins, cfg.buckets)
	tables.Lock()
	defer tables.Unlock()
	if t, ok := tables.m[key]; ok {
		return t
	}
	t := compile(cfg)
	if len(tables.m) < maxTables {
		tables.m[key] = t
	}
	return t
}
