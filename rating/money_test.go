package rating

import (
	"errors"
	"math"
	"testing"
)

func TestParseNano(t *testing.T) {
	tests := []struct {
		in   string
		want Nano
	}{
		{"0", 0},
		{"0.0", 0},
		{"-0", 0},
		{"-0.000", 0},
		{"1", 1_000_000_000},
		{"0.0123", 12_300_000},
		{"0.15", 150_000_000},
		{".5", 500_000_000},
		{"3.", 3_000_000_000},
		{"0.000001", 1_000},
		{"0.000000001", 1},
		{"007.250", 7_250_000_000},
		{"12.345678901", 12_345_678_901},
		{"9223372036.854775807", math.MaxInt64},
		{"00000000000000000000001", 1_000_000_000}, // leading zeros do not count towards range
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParseNano(tt.in)
			if err != nil {
				t.Fatalf("ParseNano(%q): %v", tt.in, err)
			}
			if got != tt.want {
				t.Fatalf("ParseNano(%q) = %d, want %d", tt.in, got, tt.want)
			}
		})
	}
}

func TestParseNanoErrors(t *testing.T) {
	tests := []struct {
		in   string
		want error
	}{
		{"", ErrInvalidDecimal},
		{".", ErrInvalidDecimal},
		{"-", ErrInvalidDecimal},
		{"abc", ErrInvalidDecimal},
		{"1.2.3", ErrInvalidDecimal},
		{"1,5", ErrInvalidDecimal},
		{"1e-3", ErrInvalidDecimal},
		{"+1", ErrInvalidDecimal},
		{" 1", ErrInvalidDecimal},
		{"1 ", ErrInvalidDecimal},
		{"0x10", ErrInvalidDecimal},
		{"--1", ErrInvalidDecimal},
		{"-abc", ErrInvalidDecimal},
		{"١", ErrInvalidDecimal}, // non-ASCII digit
		{"-1", ErrNegative},
		{"-0.0001", ErrNegative},
		{"0.0000000001", ErrTooManyDecimals},
		{"0.1000000000", ErrTooManyDecimals},
		{"9223372036.854775808", ErrOverflow},
		{"9223372037", ErrOverflow},
		{"99999999999999999999999", ErrOverflow},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParseNano(tt.in)
			if !errors.Is(err, tt.want) {
				t.Fatalf("ParseNano(%q) = %d, %v; want error %v", tt.in, got, err, tt.want)
			}
			if want := `rating: decimal "` + tt.in + `": ` + tt.want.Error(); err.Error() != want {
				t.Errorf("error text = %q, want %q", err.Error(), want)
			}
		})
	}
}

func TestNanoString(t *testing.T) {
	tests := []struct {
		in   Nano
		want string
	}{
		{0, "0"},
		{1, "0.000000001"},
		{12_300_000, "0.0123"},
		{1_000_000_000, "1"},
		{1_500_000_000, "1.5"},
		{-500_000_000, "-0.5"},
		{math.MaxInt64, "9223372036.854775807"},
		{math.MinInt64, "-9223372036.854775808"},
	}
	for _, tt := range tests {
		if got := tt.in.String(); got != tt.want {
			t.Errorf("Nano(%d).String() = %q, want %q", int64(tt.in), got, tt.want)
		}
	}
}

func TestAmountString(t *testing.T) {
	tests := []struct {
		in   Amount
		want string
	}{
		{Amount{123400, 4}, "12.3400"},
		{Amount{0, 4}, "0.0000"},
		{Amount{5, 4}, "0.0005"},
		{Amount{10000, 4}, "1.0000"},
		{Amount{-100, 4}, "-0.0100"},
		{Amount{-123400, 4}, "-12.3400"},
		{Amount{42, 0}, "42"},
		{Amount{-42, 0}, "-42"},
		{Amount{7, 2}, "0.07"},
		{Amount{1, 9}, "0.000000001"},
		{Amount{math.MaxInt64, 9}, "9223372036.854775807"},
		{Amount{math.MinInt64, 4}, "-922337203685477.5808"},
	}
	for _, tt := range tests {
		if got := tt.in.String(); got != tt.want {
			t.Errorf("%#v.String() = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestRoundingMode(t *testing.T) {
	for _, m := range []RoundingMode{HalfUp, Up, Down} {
		got, err := ParseRoundingMode(m.String())
		if err != nil || got != m {
			t.Errorf("ParseRoundingMode(%q) = %v, %v; want %v", m.String(), got, err, m)
		}
	}
	if _, err := ParseRoundingMode("bankers"); err == nil {
		t.Error("ParseRoundingMode(\"bankers\") succeeded, want error")
	}
	if got := RoundingMode(7).String(); got != "RoundingMode(7)" {
		t.Errorf("RoundingMode(7).String() = %q", got)
	}
}

func TestConvert(t *testing.T) {
	for _, tt := range []struct {
		a    Amount
		rate Nano
		dec  uint8
		want Amount
	}{
		{Amount{12345, 4}, NanoPerUnit, 6, Amount{1234500, 6}},
		{Amount{12345, 4}, NanoPerUnit, 2, Amount{123, 2}},
		{Amount{-12355, 4}, NanoPerUnit, 2, Amount{-124, 2}},
		{Amount{10000, 4}, 920_000_000, 4, Amount{9200, 4}}, // 1 USD at 0.92
		{Amount{1, 0}, 333_333_333, 4, Amount{3333, 4}},
	} {
		got, err := Convert(tt.a, tt.rate, tt.dec)
		if err != nil || got != tt.want {
			t.Errorf("Convert(%v, %v, %d) = %v, %v; want %v", tt.a, tt.rate, tt.dec, got, err, tt.want)
		}
	}
}
