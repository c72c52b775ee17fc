package collector

import (
	"strings"

	"github.com/trunkscope/trunkscope/config"
)

// E164 normalises a number as a trunk sent it (the user part of a SIP URI)
// to E.164 digits without '+', by the trunk's numbering rules: strip the
// trunk's technical prefix, add its fixed prefix, then '+' or the
// international prefix mark an international number and the national prefix
// a national one (given the country code). It returns "" for what is not a
// plausible E.164 number (extensions, names like "alice", fewer than 6 or
// more than 15 digits, ITU-T E.164 §6), so reports never mistake one for a
// destination.
func E164(raw string, n config.Numbering) string {
	s := raw
	if i := strings.IndexAny(s, ";@"); i >= 0 {
		s = s[:i]
	}
	s = strings.Map(func(r rune) rune {
		switch r {
		case '-', '.', ' ', '(', ')':
			return -1 // visual separators (RFC 3966 §5.1.1)
		}
		return r
	}, s)
	if n.Strip != "" {
		s = strings.TrimPrefix(s, n.Strip)
	}
	s = n.Add + s
	switch {
	case strings.HasPrefix(s, "+"):
		s = s[1:]
	case n.InternationalPrefix != "" && strings.HasPrefix(s, n.InternationalPrefix):
		s = s[len(n.InternationalPrefix):]
	case n.NationalPrefix != "" && strings.HasPrefix(s, n.NationalPrefix):
		if n.Country == "" {
			return "" // national, and no country to put it in
		}
		s = n.Country + s[len(n.NationalPrefix):]
	}
	if len(s) < 6 || len(s) > 15 || s[0] == '0' {
		return ""
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return ""
		}
	}
	return s
}
