package classify

// rule names os for a User-Agent holding one of its needles.
type rule struct {
	os      string
	needles []needle
}

// osRules are the built-in platform rules, tried in order: the first rule
// with a needle found wins, wherever in the User-Agent it is. They follow
// ua-parser's os_parsers (uap-core regexes.yaml), whose first matching
// expression wins too, collapsed to the buckets; a bucket appears more than
// once where ua-parser puts other platforms between its expressions. That
// order encodes the precedence real User-Agents need: Windows Phone says
// Android and iPhone, Android says Linux, iPhone says "like Mac OS X",
// Kindle e-readers and Tizen TVs say Linux, KaiOS says Android.
//
// Deliberate departures from ua-parser, each a kind of User-Agent it gets
// wrong (classify_test.go has an example of each):
//   - "CrOS" without a version ("Mozilla/5.0 (X11; CrOS x86_64) ..."):
//     ua-parser wants "CrOS <arch> <version>" and says Other; it is Chrome
//     OS.
//   - Amazon Silk asking for desktop sites on a Fire tablet ("Mozilla/5.0
//     (X11; Linux x86_64) ... Silk/81.2.16 like Chrome/81.0 ..."):
//     ua-parser says Linux; "Silk/<version> like Chrome/" is Fire OS, which
//     is Android. (The PlayStation Vita's browser is called Silk too, but
//     not "like Chrome", and stays Other.)
//   - Roku ("Roku/DVP-9.10 ..."): ua-parser names its os Mac OS X; it is
//     Roku OS, Other, and no rule here says otherwise.
var osRules = []rule{
	{Windows, append(checked(windowsPhoneVersion, exact("Windows Phone")), exact("XBLWP7")...)},
	{IOS, checked(outlookIOS, exact("Outlook-iOS-Android"))},
	{Android, concat(
		checked(androidVersion, exact("Android")),
		checked(ucwebVersion, exact("; Adr ")),
		checked(jucAndroid, exact("JUC")),
		checked(androidMobile, exact("android")),
		exact("Silk-Accelerated=", "Quest"), // early Kindle Fire, whatever else it claims; Oculus Quest
		checked(likeChrome, exact("Silk/")),
	)},
	{ChromeOS, checked(citrixChromeOS, exact("CitrixChromeApp"))},
	{Windows, checked(windowsToken, exact("Win"))},
	{Other, checked(slashOrSpaceVersion, exact("Tizen"))},
	// iPad Chrome and Edge request desktop sites as an Intel Mac.
	{IOS, checked(afterIntelMac, exact("CriOS/", "EdgiOS/"))},
	{MacOS, concat(
		checked(macOSXVersion, exact("OS X", "OS+X")),
		checked(macOSXSpelledOut, exact("Mac OS X")),
		checked(darwinMac, exact(" Darwin/")),
		exact("PPC Mac OS X", "Intel Mac OS X", "Mac_PowerPC", "darwin; arm64"),
		checked(boxDarwin, exact(";Darwin/10.")),
		checked(sdkField, exact("os/macos", "md/GOOS/darwin")),
		checked(cfNetworkMac, exact("CFNetwork/")),
	)},
	{IOS, concat(
		exact("Apple TV", "AppleTV", "(iOS;", "iPhone", "iPad", "iPod"),
		checked(iosVersion, exact("CPU OS", "CPU+OS", "iPhone OS", "iPhone+OS", "CPU iPhone", "CPU+iPhone", "CPU IPhone OS", "CPU iPad OS")),
		checked(cfNetworkIOS, exact("CFNetwork/")),
		checked(iosToken, exact("iOS")),
		checked(slashOrSpaceVersion, exact("watchOS", "tvOS")),
	)},
	{ChromeOS, exact("CrOS")},
	{Linux, exact("Debian", "debian", "Linux Mint", "Mandriva")},
	{Other, concat(
		checked(symbianTail, exact("Symbian")),
		exact("SymbOS", "Series 60", "S60V", "MeeGo", "Series40;", "Series30Plus;", "BB10;", "BlackBerry", "Blackberry",
			"RIM Tablet OS", "PlayBook", "Playbook", "BREW", "Brew MP", "BMP;", "GoogleTV", "WebTV/", "hpwOS/", "webOS/", "VRE;"),
		checked(slashVersion, folded("KaiOS")),
		checked(firefoxOSTail, exact("(Mobile;", "(Tablet;")),
	)},
	{Linux, checked(slashOrSpaceVersion, exact("Fedora", "Red Hat", "PCLinuxOS", "Puppy", "Ubuntu", "Lubuntu", "BackTrack", "Slackware"))},
	{Other, concat(
		checked(slashOrSpaceVersion, exact("Kindle", "Bada", "Sailfish")),
		checked(bsdVersion, exact("BSD")),
		exact("(Bada;"),
	)},
	{Windows, exact("Windows")},
	{Android, exact("Android")},
	{Other, exact("WeTab", "Maemo", "Web0S")},
	{Linux, exact("Ubuntu", "Kubuntu", "Arch Linux", "CentOS", "Slackware", "Gentoo", "openSUSE", "SUSE", "Red Hat", "Fedora", "PCLinuxOS", "Mageia")},
	{Other, concat(exact("SerenityOS"), checked(bsdName, exact("BSD")))},
	{Linux, exact("Linux")},
	{Other, exact("SunOS", "(freebsd")},
	{Linux, exact("linux")},
}

func concat(lists ...[]needle) []needle {
	var out []needle
	for _, l := range lists {
		out = append(out, l...)
	}
	return out
}
