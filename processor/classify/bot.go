package classify

// signal is a fact about a User-Agent that the bot decision needs, found
// by the same scan as the platform rules.
type signal uint8

const (
	sigSpider signal = 1 << iota // a spider, whatever else it says
	sigMarker                    // a mobile platform a spider may claim
	sigCrawl                     // a spider's token that counts next to a marker
	sigDevice                    // a device, which ua-parser names before it looks for spiders
	sigToken                     // a spider's token that counts on a desktop or unknown device
)

// isBot is ua-parser's Device.Family == "Spider": its device_parsers try a
// few spider expressions first (a smartphone crawler claims a mobile
// platform and then names itself: "Android ... Googlebot/2.1",
// "iPhone ... bingbot.htm"), then hundreds of device expressions, and only
// then the generic spider tokens. So a generic token such as "bot" or
// "spider" makes a bot of a desktop or unknown User-Agent, but not of one
// that names a phone; only the tokens of the first expressions do that.
//
// One deliberate departure: those first expressions want the phone named
// before the spider's token, so ua-parser calls "Mozilla/5.0 (compatible;
// RidderBot/1.0; bot@ridder.co) (iPhone; CPU iPhone OS 8_4_1 ...)" iOS; here
// the order does not matter and it is a bot.
func isBot(s signal) bool {
	return s&sigSpider != 0 || s&(sigMarker|sigCrawl) == sigMarker|sigCrawl || s&(sigToken|sigDevice) == sigToken
}

// botSignals are the needles of each signal, from ua-parser's device_parsers
// whose device_replacement is 'Spider'; sigDevice's are those of the device
// expressions before the generic spider one that real crawlers and phones
// use (TestAgreesWithUAParser shows that these suffice).
var botSignals = []struct {
	sig     signal
	needles []needle
}{
	{sigSpider, concat(
		checked(ptstTail, exact(" PTST/")),
		exact("X11; Datanyze; Linux"),
		checked(afterMozilla, exact("AspiegelBot", "PetalBot")),
	)},
	{sigMarker, checked(inFirst100, folded("iPhone", "Windows CE", "Windows Phone", "Android"))},
	{sigCrawl, concat(
		folded("Bot-Mobile", "Yeti-Mobile", "YRSpider", "BingPreview", "bot.html", "spider.html", "AdsBot-Google-Mobile"),
		checked(digitAfterNeedle, folded("bot/", "bots/")),
	)},
	{sigDevice, exact("Android", "iPhone", "iPad", "iPod", "Windows Phone", "Windows CE", "Opera Mobi", "MobileSafari",
		"Symbian", "BREW", "Brew", "webOS", "PalmOS", "BlackBerry", "Kindle", "Silk/")},
	{sigToken, concat(
		checked(notBoto, folded("bot")),
		checked(inFirst100, folded(
			"BUbiNG", "zao", "borg", "DBot", "oegp", "silk", "Xenu", "zeal", "CCBot", "crawl", "htdig", "lycos",
			"slurp", "teoma", "voila", "yahoo", "Sogou", "CiBra", "Nutch", "Daumoa", "Daum", "Genieo", "ichiro", "larbin",
			"pompos", "Scrapy", "snappy", "speedy", "spider", "msnbot", "msrbot", "vortex", "crawler", "favicon",
			"indexer", "Riddler", "scooter", "scraper", "scrubby", "WhatWeb", "WinHTTP", "bingbot", "BingPreview",
			"openbot", "gigabot", "furlbot", "polybot", "seekbot", "archiver", "Icarus6j", "mogimogi", "Netvibes",
			"blitzbot", "altavista", "charlotte", "findlinks", "Retreiver", "TLSProber", "WordPress", "SeznamBot",
			"ProoXiBot", "wsr-agent", "Squrl Java", "EtaoSpider", "PaperLiBot", "SputnikBot", "A6-Indexer",
			"netresearch", "searchsight", "baiduspider", "YisouSpider", "ICC-Crawler", "http%20client",
			"Python-urllib", "dataparksearch", "converacrawler", "Screaming Frog", "AppEngine-Google",
			"YahooCacheSystem", "fast-webcrawler", "Sogou Pic Spider", "semanticdiscovery", "Innovazion Crawler",
			"facebookexternalhit", "Google-HTTP-Java-Client", "BlogBridge", "IlTrovatore-Setaccio",
			"InternetArchive", "GomezAgent", "WebThumbnail", "heritrix", "NewsGator", "PagePeeker", "Reaper",
			"ZooShot", "holmes", "NL-Crawler", "Pingdom", "StatusCake", "WhatsApp", "masscan", "Google Web Preview",
			"Qwantify", "Yeti", "OgScrper", "RecipeRadar")),
		checked(atStart, folded("NING", "Java/", "JNLP/", "voyager")),
	)},
}

// notBoto is inFirst100 for the generic "bot", except in the names of the
// AWS SDK for Python, "Boto3/1.28.62 md/Botocore#1.31.62 ... os/macos#22.4.0":
// a client library that states its platform, not a crawler, though
// ua-parser's generic spider expression matches its name (a deliberate
// departure, README's Classification).
func (v *view) notBoto(i, j int) bool {
	return v.inFirst100(i) && !hasPrefixAt(v.ua, j, "o3/") && !hasPrefixAt(v.ua, j, "ocore")
}

// ptstTailAt is WebPageTest's " PTST/<n>[.<n>]" at the very end.
func ptstTailAt(ua []byte, j int) bool {
	k := digits(ua, j)
	if k == j {
		return false
	}
	if k < len(ua) && ua[k] == '.' {
		if e := digits(ua, k+1); e > k+1 {
			k = e
		}
	}
	return k == len(ua)
}

// afterMozilla: ua-parser's Mozilla.{0,200}(AspiegelBot|PetalBot). The last
// Mozilla before the needle leaves the least between.
func (v *view) afterMozilla(i int) bool {
	m := v.lastBefore(&v.mozilla, i, "Mozilla", nil)
	return m >= 0 && v.within(m+len("Mozilla"), i, 200, &v.mozillaSpan)
}
