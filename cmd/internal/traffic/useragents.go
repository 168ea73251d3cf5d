package traffic

// userAgent is one User-Agent and the bucket it must be counted under.
type userAgent struct {
	ua, osType string
}

// uaTable holds User-Agents chosen so that these substring rules, applied in
// order, give an unambiguous answer that is also the true platform (and what
// ua-parser says, as package classify does):
//
//	bot     if the UA contains "Googlebot", "bingbot" or "Baiduspider"
//	ios     if the UA contains "iPhone", "iPad", "iPod", "CFNetwork" or "like Mac OS X"
//	android if it contains "Android"
//	windows if it contains "Windows"
//	macos   if it contains "Macintosh" or "Mac OS X"
//	chromeos if it contains "CrOS"
//	linux   if it contains "Linux" or "X11"
//	other   otherwise
//
// Real traffic contains UAs where the rules and the truth differ (iPadOS
// Safari claims to be a Macintosh, a macOS app's CFNetwork looks like iOS);
// they are left out so that the ground truth stays a property of the rules
// rather than a guess.
//
// Weights give a mobile-heavy mix like a consumer app's web traffic.
var uaTable = newWeighted(
	// Android: Chrome Mobile, Samsung Internet, MIUI browser, WeChat's
	// in-app browser, and an app's okhttp client, which sends Dalvik's UA.
	choice[userAgent]{10, userAgent{"Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Mobile Safari/537.36", "android"}},
	choice[userAgent]{6, userAgent{"Mozilla/5.0 (Linux; Android 13; SM-S918B) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/116.0.0.0 Mobile Safari/537.36", "android"}},
	choice[userAgent]{5, userAgent{"Mozilla/5.0 (Linux; Android 13; SAMSUNG SM-A536B) AppleWebKit/537.36 (KHTML, like Gecko) SamsungBrowser/23.0 Chrome/115.0.0.0 Mobile Safari/537.36", "android"}},
	choice[userAgent]{3, userAgent{"Mozilla/5.0 (Linux; U; Android 11; zh-cn; M2012K11AC Build/RKQ1.200826.002) AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/100.0.4896.127 Mobile Safari/537.36 XiaoMi/MiuiBrowser/17.1.80404", "android"}},
	choice[userAgent]{3, userAgent{"Mozilla/5.0 (Linux; Android 12; V2154A Build/SP1A.210812.003; wv) AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/107.0.5304.141 Mobile Safari/537.36 MicroMessenger/8.0.40.2420(0x28002837) NetType/WIFI Language/zh_CN", "android"}},
	choice[userAgent]{8, userAgent{"Dalvik/2.1.0 (Linux; U; Android 12; M2101K6G Build/SKQ1.211006.001)", "android"}},

	// iOS: Safari on iPhone and iPad, Chrome and WeChat on iPhone, and an
	// app's own URLSession client, which identifies only by CFNetwork.
	choice[userAgent]{10, userAgent{"Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1", "ios"}},
	choice[userAgent]{3, userAgent{"Mozilla/5.0 (iPad; CPU OS 16_6 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/16.6 Mobile/15E148 Safari/604.1", "ios"}},
	choice[userAgent]{3, userAgent{"Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) CriOS/124.0.6367.88 Mobile/15E148 Safari/604.1", "ios"}},
	choice[userAgent]{4, userAgent{"Mozilla/5.0 (iPhone; CPU iPhone OS 16_6 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148 MicroMessenger/8.0.42(0x18002a2f) NetType/WIFI Language/zh_CN", "ios"}},
	choice[userAgent]{10, userAgent{"MyApp/5.2 CFNetwork/1410.0.3 Darwin/22.6.0", "ios"}},

	// Windows: Chrome, Edge, Firefox.
	choice[userAgent]{8, userAgent{"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36", "windows"}},
	choice[userAgent]{4, userAgent{"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36 Edg/124.0.2478.80", "windows"}},
	choice[userAgent]{3, userAgent{"Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:125.0) Gecko/20100101 Firefox/125.0", "windows"}},

	// macOS: Safari, Chrome, Firefox. "Intel Mac OS X" must not read as the
	// iOS marker "like Mac OS X"; the test checks that it does not.
	choice[userAgent]{4, userAgent{"Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Safari/605.1.15", "macos"}},
	choice[userAgent]{3, userAgent{"Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36", "macos"}},
	choice[userAgent]{1, userAgent{"Mozilla/5.0 (Macintosh; Intel Mac OS X 10.15; rv:125.0) Gecko/20100101 Firefox/125.0", "macos"}},

	// Linux desktop, and Chrome OS, which says X11 and Linux too.
	choice[userAgent]{2, userAgent{"Mozilla/5.0 (X11; Linux x86_64; rv:125.0) Gecko/20100101 Firefox/125.0", "linux"}},
	choice[userAgent]{1, userAgent{"Mozilla/5.0 (X11; CrOS x86_64 14541.0.0) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36", "chromeos"}},
	choice[userAgent]{1, userAgent{"Mozilla/5.0 (X11; Ubuntu; Linux x86_64; rv:124.0) Gecko/20100101 Firefox/124.0", "linux"}},
	choice[userAgent]{1, userAgent{"Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36", "linux"}},

	// Crawlers, Googlebot's smartphone crawler saying Android among them,
	// then tools. nginx logs a missing User-Agent as "-".
	choice[userAgent]{3, userAgent{"Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)", "bot"}},
	choice[userAgent]{1, userAgent{"Mozilla/5.0 (Linux; Android 6.0.1; Nexus 5X Build/MMB29P) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.6367.201 Mobile Safari/537.36 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)", "bot"}},
	choice[userAgent]{2, userAgent{"Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)", "bot"}},
	choice[userAgent]{2, userAgent{"Mozilla/5.0 (compatible; Baiduspider/2.0; +http://www.baidu.com/search/spider.html)", "bot"}},
	choice[userAgent]{1, userAgent{"curl/8.5.0", "other"}},
	choice[userAgent]{1, userAgent{"-", "other"}},
)
