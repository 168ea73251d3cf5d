package traffic

import (
	"strconv"
	"time"
)

// webPath is a request target. None carries an os_type parameter, so the
// User-Agent alone decides these lines' bucket.
type webPath struct {
	path string
	// withID appends a numeric id, giving many distinct URLs.
	withID bool
}

var webPaths = newWeighted(
	choice[webPath]{12, webPath{"/", false}},
	choice[webPath]{6, webPath{"/index.html", false}},
	choice[webPath]{10, webPath{"/product/list", false}},
	choice[webPath]{14, webPath{"/product/detail/", true}},
	choice[webPath]{10, webPath{"/static/js/app.8f3c2a1e.js", false}},
	choice[webPath]{8, webPath{"/static/css/main.4b2d9e07.css", false}},
	choice[webPath]{6, webPath{"/favicon.ico", false}},
	choice[webPath]{6, webPath{"/images/banner/spring_sale.jpg", false}},
	choice[webPath]{10, webPath{"/v1/open/product_list?from_page=2&page_size=20", false}},
	choice[webPath]{5, webPath{"/api/v2/cart", false}},
	choice[webPath]{5, webPath{"/search?q=phone+case&page=", true}},
	choice[webPath]{4, webPath{"/robots.txt", false}},
	choice[webPath]{4, webPath{"/sitemap.xml", false}},
)

var methods = newWeighted(
	choice[string]{90, "GET"},
	choice[string]{8, "POST"},
	choice[string]{2, "HEAD"},
)

var protocols = newWeighted(
	choice[string]{7, "HTTP/1.1"},
	choice[string]{3, "HTTP/2.0"},
)

var referers = newWeighted(
	choice[string]{50, "-"},
	choice[string]{20, "https://m.example.com/"},
	choice[string]{15, "https://www.example.com/product/list"},
	choice[string]{10, "https://www.baidu.com/"},
	choice[string]{5, "https://www.google.com/"},
)

// appendBrowserLine appends a line in nginx's combined log format, whose
// only OS signal is the User-Agent, e.g.
//
//	58.37.120.4 - - [13/Aug/2019:03:46:54 +0800] "GET / HTTP/1.1" 200 5120 "-" "Mozilla/5.0 (iPhone; ...)"
func (g *Generator) appendBrowserLine(dst []byte, t time.Time) ([]byte, Request) {
	ua := uaTable.pick(g.r)
	p := webPaths.pick(g.r)

	dst = g.appendIP(dst)
	dst = append(dst, " - - "...)
	dst = appendTimestamp(dst, t)
	dst = append(dst, ` "`...)
	method := methods.pick(g.r)
	dst = append(dst, method...)
	dst = append(dst, ' ')
	target := len(dst)
	dst = append(dst, p.path...)
	if p.withID {
		dst = strconv.AppendUint(dst, uint64(1+g.r.Uint32N(99999)), 10)
	}
	targetEnd := len(dst)
	dst = append(dst, ' ')
	dst = append(dst, protocols.pick(g.r)...)
	dst = append(dst, `" `...)
	dst = g.appendStatusAndBytes(dst)
	dst = append(dst, ` "`...)
	dst = append(dst, referers.pick(g.r)...)
	dst = append(dst, `" "`...)
	dst = append(dst, ua.ua...)
	dst = append(dst, '"')
	req := Request{Method: method, Target: dst[target:targetEnd:targetEnd], UserAgent: ua.ua, OSType: ua.osType}
	if ua.ua == "-" {
		req.UserAgent = "" // what nginx logs for a request without one
	}
	return dst, req
}
