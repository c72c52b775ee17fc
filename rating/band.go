package rating

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Band is a recurring weekly time window in a deck's own time zone, such as
// "Mon-Fri 08:00-18:00" (peak). A rate row with a band applies only while
// the band is active; a row without a band applies whenever no banded row of
// the same prefix does, so "peak" rows plus one plain row is the usual
// peak/off-peak deck.
type Band struct {
	Name string
	// Days[time.Monday] is true when the window opens on Mondays.
	Days [7]bool
	// From and To are seconds since local midnight, 0..86400. From > To
	// wraps past midnight ("20:00-08:00" is evenings and early mornings).
	From, To int32
}

// ParseBand parses a band specification:
//
//	[DAYS] [HH:MM-HH:MM]
//
// DAYS is "daily", "*", a day ("Sat"), a range ("Mon-Fri") or a comma list
// ("Sat,Sun"); it defaults to every day. The time range defaults to the
// whole day; "24:00" ends at midnight; From > To wraps past midnight (the
// part after midnight belongs to the day the window opened on).
func ParseBand(name, spec string) (Band, error) {
	b := Band{Name: name, From: 0, To: 86400}
	fields := strings.Fields(spec)
	if len(fields) == 0 || len(fields) > 2 {
		return b, fmt.Errorf("band %q: %q: want [DAYS] [HH:MM-HH:MM], e.g. \"Mon-Fri 08:00-18:00\"", name, spec)
	}
	days, times := "", ""
	for _, f := range fields {
		if strings.Contains(f, ":") {
			if times != "" {
				return b, fmt.Errorf("band %q: %q: two time ranges", name, spec)
			}
			times = f
		} else {
			if days != "" {
				return b, fmt.Errorf("band %q: %q: two day lists", name, spec)
			}
			days = f
		}
	}
	if err := parseDays(days, &b.Days); err != nil {
		return b, fmt.Errorf("band %q: %q: %w", name, spec, err)
	}
	if times != "" {
		from, to, ok := strings.Cut(times, "-")
		if !ok {
			return b, fmt.Errorf("band %q: %q: time range must be HH:MM-HH:MM", name, spec)
		}
		var err error
		if b.From, err = parseClock(from); err != nil {
			return b, fmt.Errorf("band %q: %q: %w", name, spec, err)
		}
		if b.To, err = parseClock(to); err != nil {
			return b, fmt.Errorf("band %q: %q: %w", name, spec, err)
		}
		if b.From == b.To || b.From == 86400 {
			return b, fmt.Errorf("band %q: %q: empty time range", name, spec)
		}
	}
	return b, nil
}

var dayNames = map[string]time.Weekday{
	"sun": time.Sunday, "mon": time.Monday, "tue": time.Tuesday, "wed": time.Wednesday,
	"thu": time.Thursday, "fri": time.Friday, "sat": time.Saturday,
}

func parseDay(s string) (time.Weekday, error) {
	s = strings.ToLower(s)
	if len(s) > 3 {
		s = s[:3]
	}
	d, ok := dayNames[s]
	if !ok {
		return 0, fmt.Errorf("unknown day %q (want Mon, Tue, ... Sun)", s)
	}
	return d, nil
}

func parseDays(s string, days *[7]bool) error {
	if s == "" || s == "*" || strings.EqualFold(s, "daily") || strings.EqualFold(s, "all") {
		for i := range days {
			days[i] = true
		}
		return nil
	}
	for _, part := range strings.Split(s, ",") {
		first, last, isRange := strings.Cut(part, "-")
		a, err := parseDay(first)
		if err != nil {
			return err
		}
		b := a
		if isRange {
			if b, err = parseDay(last); err != nil {
				return err
			}
		}
		for d := a; ; d = (d + 1) % 7 {
			days[d] = true
			if d == b {
				break
			}
		}
	}
	return nil
}

// parseClock reads HH:MM or HH:MM:SS (00:00..24:00) as seconds of the day.
func parseClock(s string) (int32, error) {
	parts := strings.Split(s, ":")
	if len(parts) < 2 || len(parts) > 3 {
		return 0, fmt.Errorf("time %q: want HH:MM", s)
	}
	var v [3]int
	for i, p := range parts {
		if len(p) != 2 || !allDigits(p) {
			return 0, fmt.Errorf("time %q: want HH:MM", s)
		}
		v[i], _ = strconv.Atoi(p)
	}
	if v[1] > 59 || v[2] > 59 || v[0] > 24 || (v[0] == 24 && (v[1] != 0 || v[2] != 0)) {
		return 0, fmt.Errorf("time %q out of range", s)
	}
	return int32(v[0]*3600 + v[1]*60 + v[2]), nil
}

// active reports whether the band covers a moment that is tod seconds after
// local midnight on weekday wd.
func (b *Band) active(wd time.Weekday, tod int32) bool {
	if b.From < b.To {
		return b.Days[wd] && tod >= b.From && tod < b.To
	}
	// Wrapping window: the evening part belongs to today, the morning part
	// to the window that opened yesterday.
	if tod >= b.From {
		return b.Days[wd]
	}
	return tod < b.To && b.Days[(wd+6)%7]
}

// overlaps reports whether two bands are ever active at the same moment,
// checked per minute of the week (cheap, exact for minute-aligned bands and
// conservative enough for second-aligned ones at load time).
func (b *Band) overlaps(o *Band) bool {
	for wd := time.Sunday; wd <= time.Saturday; wd++ {
		for tod := int32(0); tod < 86400; tod += 60 {
			if b.active(wd, tod) && o.active(wd, tod) {
				return true
			}
		}
	}
	return false
}

// errNoBand is returned when no rate of a prefix covers a moment of the
// call (a deck with only banded rows and a gap between them).
var errNoBand = errors.New("no rate row (band or tier) covers this part of the call")
