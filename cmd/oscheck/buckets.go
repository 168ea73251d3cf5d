package main

import (
	"fmt"
	"strings"

	"github.com/spf13/viper"

	"github.com/oscheck/oscheck/processor/classify"
	"github.com/oscheck/oscheck/topology"
)

// bucketsSetting reads the key "buckets": the user's own os_type buckets,
// tried in order before the built-in ones. A config file gives a list,
//
//	buckets:
//	  - name: harmonyos
//	    contains: [HarmonyOS, OpenHarmony]
//
// and a flag or OSCHECK_BUCKETS the same in one string:
// "harmonyos=HarmonyOS|OpenHarmony;tizen=Tizen". It checks the shape only.
func bucketsSetting(v *viper.Viper) ([]classify.Bucket, error) {
	var buckets []classify.Bucket
	switch raw := v.Get("buckets").(type) {
	case nil:
	case string:
		for i, spec := range strings.Split(raw, ";") {
			if strings.TrimSpace(spec) == "" {
				continue
			}
			name, needles, ok := strings.Cut(spec, "=")
			if !ok {
				return nil, &topology.KeyError{Key: "buckets", Reason: fmt.Sprintf("bucket %d: %q is not name=Substring|Substring", i+1, spec)}
			}
			buckets = append(buckets, classify.Bucket{Name: strings.TrimSpace(name), Contains: strings.Split(needles, "|")})
		}
	case []any:
		for i, item := range raw {
			b, err := bucketFromFile(item)
			if err != nil {
				return nil, &topology.KeyError{Key: "buckets", Reason: fmt.Sprintf("bucket %d: %v", i+1, err)}
			}
			buckets = append(buckets, b)
		}
	default:
		return nil, &topology.KeyError{Key: "buckets", Reason: fmt.Sprintf("want a list of {name, contains} or a string, got %T", raw)}
	}
	return buckets, nil // topology.Config.Validate checks them
}

// bucketFromFile reads one {name, contains} item of a config file's list.
func bucketFromFile(item any) (classify.Bucket, error) {
	m, ok := item.(map[string]any)
	if !ok {
		return classify.Bucket{}, fmt.Errorf("want {name, contains}, got %T", item)
	}
	var b classify.Bucket
	for k, val := range m {
		switch k {
		case "name":
			s, ok := val.(string)
			if !ok {
				return b, fmt.Errorf("name must be a string, got %T", val)
			}
			b.Name = s
		case "contains":
			list, ok := val.([]any)
			if !ok {
				return b, fmt.Errorf("contains must be a list of strings, got %T", val)
			}
			for _, n := range list {
				s, ok := n.(string)
				if !ok {
					return b, fmt.Errorf("contains must be a list of strings, got an item of type %T", n)
				}
				b.Contains = append(b.Contains, s)
			}
		default:
			return b, fmt.Errorf("unknown field %q (want name and contains)", k)
		}
	}
	return b, nil
}
