package decode

// Hand-rolled because time.Parse costs several times the rest of a line's
// decoding and nginx's $time_local has a single fixed layout.

const (
	minYear = 1970 // earlier dates are corrupt data for a live stream
	maxYear = 9999 // the layouts have four year digits
)

// parseTimestamp parses nginx's $time_local, "dd/Mon/yyyy:HH:MM:SS ±hhmm",
// into Unix milliseconds. Month names are matched case-insensitively, as
// time.Parse does.
func parseTimestamp(b []byte) (int64, bool) {
	if len(b) != len("13/Aug/2019:03:46:54 +0800") ||
		b[2] != '/' || b[6] != '/' || b[11] != ':' || b[14] != ':' || b[17] != ':' || b[20] != ' ' {
		return 0, false
	}
	century, yy := digits2(b[7], b[8]), digits2(b[9], b[10])
	zone, ok := zoneOffset(b[21], digits2(b[22], b[23]), digits2(b[24], b[25]))
	if century < 0 || yy < 0 || !ok {
		return 0, false
	}
	return unixMillis(century*100+yy, monthOf(b[3], b[4], b[5]), digits2(b[0], b[1]),
		digits2(b[12], b[13]), digits2(b[15], b[16]), digits2(b[18], b[19]), zone)
}

// unixMillis returns the Unix milliseconds of a date and time written with
// a zone zone seconds east of UTC. Every field is range-checked, the day
// against its month's length too, so garbage is rejected rather than
// normalized; a field is negative where its digits were not digits.
func unixMillis(year, month, day, hour, minute, sec, zone int) (int64, bool) {
	if year < minYear || year > maxYear || month < 1 || month > 12 || day < 1 || day > daysIn(month, year) ||
		hour < 0 || hour > 23 || minute < 0 || minute > 59 || sec < 0 || sec > 59 {
		return 0, false
	}
	secs := daysFromCivil(year, month, day)*86400 + int64(hour*3600+minute*60+sec-zone)
	return secs * 1000, true
}

// zoneOffset returns the seconds east of UTC of a zone written as a sign,
// hours and minutes, or false when one of them is out of range.
func zoneOffset(sign byte, hours, minutes int) (int, bool) {
	if hours < 0 || hours > 23 || minutes < 0 || minutes > 59 {
		return 0, false
	}
	zone := hours*3600 + minutes*60
	switch sign {
	case '+':
		return zone, true
	case '-':
		return -zone, true
	}
	return 0, false
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

// digits2 returns the value of two decimal digits, or -1 when either is
// not a digit.
func digits2(a, b byte) int {
	if !isDigit(a) || !isDigit(b) {
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
