package traffic

import (
	"strconv"
	"time"
)

// paramOSTypes are the values the reference app's clients send as os_type.
// Ground truth is the value itself, so rare ones exercise buckets the
// User-Agent rules never produce.
var paramOSTypes = newWeighted(
	choice[string]{54, "android"},
	choice[string]{41, "ios"},
	choice[string]{4, "harmonyos"},
	choice[string]{1, "web"},
)

type apiPath struct {
	path string
	// withProduct adds a product_id parameter, as detail and cart calls do.
	withProduct bool
}

var apiPaths = newWeighted(
	choice[apiPath]{40, apiPath{"/v1/open/product_list", false}},
	choice[apiPath]{25, apiPath{"/v1/open/product_detail", true}},
	choice[apiPath]{10, apiPath{"/v1/open/banner_list", false}},
	choice[apiPath]{10, apiPath{"/v1/user/info", false}},
	choice[apiPath]{8, apiPath{"/v1/order/list", false}},
	choice[apiPath]{7, apiPath{"/v1/cart/add", true}},
)

type screen struct{ height, width int }

var iosScreens = [...]screen{{1125, 2436}, {1170, 2532}, {1284, 2778}, {750, 1334}, {1179, 2556}}
var otherScreens = [...]screen{{1080, 2400}, {1080, 2340}, {1440, 3200}, {720, 1600}, {1260, 2800}}

// appendAppLine appends a line in the reference app's format: nginx's common
// log format, no User-Agent, and the OS named by an os_type parameter, e.g.
//
//	10.10.13.41 - - [13/Aug/2019:03:46:54 +0800] "GET /v1/open/product_list?user_key=****&user_phone=****&screen_height=1125&screen_width=2436&from_page=1&user_type=2&os_type=ios HTTP/1.0" 200 1321
func (g *Generator) appendAppLine(dst []byte, t time.Time) ([]byte, Request) {
	osType := paramOSTypes.pick(g.r)
	p := apiPaths.pick(g.r)
	// The reference clients put os_type last; some send it first, so a
	// classifier that only looks at the end of the query is caught out.
	osFirst := g.r.Uint32N(5) == 0

	dst = g.appendIP(dst)
	dst = append(dst, " - - "...)
	dst = appendTimestamp(dst, t)
	dst = append(dst, ` "GET `...)
	target := len(dst)
	dst = append(dst, p.path...)
	dst = append(dst, '?')
	if osFirst {
		dst = append(dst, "os_type="...)
		dst = append(dst, osType...)
		dst = append(dst, '&')
	}
	if p.withProduct {
		dst = append(dst, "product_id="...)
		dst = strconv.AppendUint(dst, uint64(100000+g.r.Uint32N(900000)), 10)
		dst = append(dst, '&')
	}
	s := otherScreens[g.r.IntN(len(otherScreens))]
	if osType == "ios" {
		s = iosScreens[g.r.IntN(len(iosScreens))]
	}
	dst = append(dst, "user_key=****&user_phone=****&screen_height="...)
	dst = strconv.AppendInt(dst, int64(s.height), 10)
	dst = append(dst, "&screen_width="...)
	dst = strconv.AppendInt(dst, int64(s.width), 10)
	dst = append(dst, "&from_page="...)
	dst = strconv.AppendUint(dst, uint64(1+g.r.Uint32N(5)), 10)
	dst = append(dst, "&user_type="...)
	dst = strconv.AppendUint(dst, uint64(1+g.r.Uint32N(3)), 10)
	if !osFirst {
		dst = append(dst, "&os_type="...)
		dst = append(dst, osType...)
	}
	targetEnd := len(dst)
	dst = append(dst, ` HTTP/1.0" `...)
	dst = g.appendStatusAndBytes(dst)
	return dst, Request{Method: "GET", Target: dst[target:targetEnd:targetEnd], OSType: osType}
}
