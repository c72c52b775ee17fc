package collector

// twoDigitCC are the two-digit country codes of ITU-T E.164 (list of
// assigned codes, Annex to ITU-T OB). Codes starting with 1 and 7 are one
// digit (the NANP and Russia/Kazakhstan); every other code has three.
var twoDigitCC = [100]bool{
	20: true, 27: true, 30: true, 31: true, 32: true, 33: true, 34: true, 36: true, 39: true,
	40: true, 41: true, 43: true, 44: true, 45: true, 46: true, 47: true, 48: true, 49: true,
	51: true, 52: true, 53: true, 54: true, 55: true, 56: true, 57: true, 58: true,
	60: true, 61: true, 62: true, 63: true, 64: true, 65: true, 66: true,
	81: true, 82: true, 84: true, 86: true, 90: true, 91: true, 92: true, 93: true, 94: true, 95: true, 98: true,
}

// CountryCode returns the country code of an E.164 number (digits, no '+'),
// or "" for none.
func CountryCode(e164 string) string {
	switch {
	case len(e164) < 3:
		return ""
	case e164[0] == '1' || e164[0] == '7':
		return e164[:1]
	case twoDigitCC[int(e164[0]-'0')*10+int(e164[1]-'0')]:
		return e164[:2]
	}
	return e164[:3]
}
