package collector

import (
	"testing"

	"github.com/trunkscope/trunkscope/config"
)

func TestE164(t *testing.T) {
	nl := config.Numbering{Country: "31", NationalPrefix: "0", InternationalPrefix: "00"}
	us := config.Numbering{Country: "1", NationalPrefix: "1", InternationalPrefix: "011"}
	tech := config.Numbering{Country: "44", NationalPrefix: "0", InternationalPrefix: "00", Strip: "1234#"}
	add := config.Numbering{InternationalPrefix: "00", Add: "49"}
	for _, tc := range []struct {
		raw  string
		n    config.Numbering
		want string
	}{
		{"+442071234567", nl, "442071234567"},
		{"00442071234567", nl, "442071234567"},
		{"0201234567", nl, "31201234567"},
		{"442071234567", nl, "442071234567"},
		{"+44 (20) 7123-4567", nl, "442071234567"},
		{"01144207123456", us, "44207123456"},
		{"12125551234", us, "12125551234"},
		{"1234#02071234567", tech, "442071234567"},
		{"301234567", add, "49301234567"},
		{"0097239287044", nl, "97239287044"},
		{"alice", nl, ""},
		{"2504", nl, ""},
		{"0201234567", config.Numbering{NationalPrefix: "0"}, ""},
		{"+4420712345678901234", nl, ""},
		{"+44207;phone-context=x", nl, ""},
		{"", nl, ""},
	} {
		if got := E164(tc.raw, tc.n); got != tc.want {
			t.Errorf("E164(%q, %+v) = %q, want %q", tc.raw, tc.n, got, tc.want)
		}
	}
}

func TestParseReason(t *testing.T) {
	for _, tc := range []struct {
		msg  string
		want Reason
	}{
		{"BYE sip:a SIP/2.0\r\nReason: Q.850;cause=16;text=\"Normal call clearing\"\r\n\r\n", Reason{"Q.850", 16, "Normal call clearing"}},
		{"SIP/2.0 487 X\r\nreason :  SIP ; cause=200 ; text=\"Call completed elsewhere\"\r\n\r\n", Reason{"SIP", 200, "Call completed elsewhere"}},
		{"SIP/2.0 503 X\r\nReason: Q.850;cause=34, SIP;cause=503\r\n\r\n", Reason{"Q.850", 34, ""}},
		{"BYE sip:a SIP/2.0\r\nVia: x\r\n\r\nReason: Q.850;cause=1\r\n", Reason{}},
		{"BYE sip:a SIP/2.0\r\nReason: Q.850;cause=nope\r\n\r\n", Reason{"Q.850", 0, ""}},
	} {
		if got := parseReason([]byte(tc.msg)); got != tc.want {
			t.Errorf("parseReason(%q) = %+v, want %+v", tc.msg, got, tc.want)
		}
	}
}

func TestCountryCode(t *testing.T) {
	for in, want := range map[string]string{"442071234567": "44", "12125551234": "1", "74951234567": "7",
		"35312345678": "353", "31201234567": "31", "8613912345678": "86", "97239287044": "972", "20": "", "": ""} {
		if got := CountryCode(in); got != want {
			t.Errorf("CountryCode(%q) = %q, want %q", in, got, want)
		}
	}
}
