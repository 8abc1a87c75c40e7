package validate

import "time"

// isDateTime checks RFC 3339 date-time (section 5.6), as JSON Schema's
// "date-time" format does: "T" or "t", optional fraction, "Z"/"z" or a
// numeric offset, leap second only at 23:59 UTC.
func isDateTime(s string) bool {
	if len(s) < 20 || (s[10] != 'T' && s[10] != 't') {
		return false
	}
	if _, err := time.Parse("2006-01-02", s[:10]); err != nil {
		return false
	}
	t := s[11:]
	if len(t) < 9 || t[2] != ':' || t[5] != ':' {
		return false
	}
	h, ok1 := twoDigits(t[0:2])
	m, ok2 := twoDigits(t[3:5])
	sec, ok3 := twoDigits(t[6:8])
	if !ok1 || !ok2 || !ok3 || h > 23 || m > 59 || sec > 60 {
		return false
	}
	t = t[8:]
	if len(t) > 0 && t[0] == '.' {
		n := 1
		for n < len(t) && t[n] >= '0' && t[n] <= '9' {
			n++
		}
		if n == 1 {
			return false
		}
		t = t[n:]
	}
	if t != "Z" && t != "z" {
		if len(t) != 6 || (t[0] != '+' && t[0] != '-') || t[3] != ':' {
			return false
		}
		zh, ok1 := twoDigits(t[1:3])
		zm, ok2 := twoDigits(t[4:6])
		if !ok1 || !ok2 || zh > 23 || zm > 59 {
			return false
		}
		off := zh*60 + zm
		if t[0] == '+' {
			off = -off
		}
		hm := h*60 + m + off
		if hm < 0 {
			hm += 24 * 60
		}
		hm %= 24 * 60
		h, m = hm/60, hm%60
	}
	if sec == 60 && (h != 23 || m != 59) {
		return false
	}
	return true
}

func twoDigits(s string) (int, bool) {
	if len(s) != 2 || s[0] < '0' || s[0] > '9' || s[1] < '0' || s[1] > '9' {
		return 0, false
	}
	return int(s[0]-'0')*10 + int(s[1]-'0'), true
}
