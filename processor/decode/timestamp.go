package decode

// Hand-rolled because time.Parse costs several times the rest of a line's
// decoding and nginx's $time_local has a single fixed layout.

const (
	minYear = 1970 // earlier dates are corrupt data for a live stream
	maxYear = 9999 // the layout has four year digits
)

// parseTimestamp parses nginx's $time_local, "dd/Mon/yyyy:HH:MM:SS ±hhmm",
// into Unix milliseconds. Month names are matched case-insensitively, as
// time.Parse does; every field is range-checked, including the day against
// the month's length, so garbage is rejected rather than normalized.
func parseTimestamp(b []byte) (int64, bool) {
	if len(b) != len("13/Aug/2019:03:46:54 +0800") ||
		b[2] != '/' || b[6] != '/' || b[11] != ':' || b[14] != ':' || b[17] != ':' || b[20] != ' ' {
		return 0, false
	}
	day := digits2(b[0], b[1])
	month := monthOf(b[3], b[4], b[5])
	century, yy := digits2(b[7], b[8]), digits2(b[9], b[10])
	year := century*100 + yy
	hour := digits2(b[12], b[13])
	minute := digits2(b[15], b[16])
	sec := digits2(b[18], b[19])
	zh := digits2(b[22], b[23])
	zm := digits2(b[24], b[25])
	if day < 1 || month < 1 || century < 0 || yy < 0 || year < minYear || year > maxYear ||
		hour < 0 || hour > 23 || minute < 0 || minute > 59 || sec < 0 || sec > 59 ||
		zh < 0 || zh > 23 || zm < 0 || zm > 59 || day > daysIn(month, year) {
		return 0, false
	}
	zone := int64(zh*3600 + zm*60)
	switch b[21] {
	case '+':
	case '-':
		zone = -zone
	default:
		return 0, false
	}
	secs := daysFromCivil(year, month, day)*86400 + int64(hour*3600+minute*60+sec) - zone
	return secs * 1000, true
}

// digits2 returns the value of two decimal digits, or -1 when either is
// not a digit.
func digits2(a, b byte) int {
	if a < '0' || a > '9' || b < '0' || b > '9' {
		return -1
	}
	return int(a-'0')*10 + int(b-'0')
}

// monthOf returns 1..12 for an English month abbreviation in any case, else 0.
func monthOf(a, b, c byte) int {
	// OR-ing 0x20 lower-cases letters and cannot turn a non-letter into one.
	switch string([]byte{a | 0x20, b | 0x20, c | 0x20}) {
	case "jan":
		return 1
	case "feb":
		return 2
	case "mar":
		return 3
	case "apr":
		return 4
	case "may":
		return 5
	case "jun":
		return 6
	case "jul":
		return 7
	case "aug":
		return 8
	case "sep":
		return 9
	case "oct":
		return 10
	case "nov":
		return 11
	case "dec":
		return 12
	}
	return 0
}

func daysIn(month, year int) int {
	switch month {
	case 2:
		if year%4 == 0 && (year%100 != 0 || year%400 == 0) {
			return 29
		}
		return 28
	case 4, 6, 9, 11:
		return 30
	}
	return 31
}

// daysFromCivil returns the days since 1970-01-01 of a proleptic Gregorian
// date (Howard Hinnant's algorithm; year >= 1 here, so no negative eras).
func daysFromCivil(year, month, day int) int64 {
	if month <= 2 {
		year--
	}
	era := year / 400
	yoe := year - era*400
	mp := (month + 9) % 12 // March = 0, so leap days fall at the end
	doy := (153*mp+2)/5 + day - 1
	doe := yoe*365 + yoe/4 - yoe/100 + doy
	return int64(era*146097+doe) - 719468
}
