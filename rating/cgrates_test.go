package rating

import (
	"errors"
	"math/big"
	"os"
	"strings"
	"testing"
	"testing/fstest"
	"time"
)

func loadTutorial(t testing.TB) *TariffPlan {
	t.Helper()
	p, err := LoadTariffPlan(os.DirFS("testdata/cgrates/tutorial"), TariffPlanOptions{Name: "tutorial"})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// TestCGRatesTutorial prices calls on the tutorial tariff plan of CGRateS's
// documentation (data/tariffplans/tutorial, with RT_20CNT's second slot at
// 30 s increments as in the "Calculate Cost" example of the docs' Tariff Plan
// Management chapter) and compares with the costs CGRateS states.
func TestCGRatesTutorial(t *testing.T) {
	p := loadTutorial(t)
	tests := []struct {
		name, subject, dest string
		start               time.Time
		usage               time.Duration
		want                Amount
		wantUsage           time.Duration
		spans               int
	}{
		// docs 6.3 "Calculate Cost": Subject 1003->1002 on RP_RETAIL2 style
		// RT_20CNT, 1m25s: Usage 90s, charges 0.2 (60 s) + 0.05 (30 s), Cost
		// 0.25 plus ConnectFee 0.4.
		{"docs calculate cost", "1001", "1002", time.Date(2014, 8, 4, 13, 0, 0, 0, time.UTC), 85 * time.Second, Amount{6500, 4}, 90 * time.Second, 2},
		// RT_10CNT, 1m25s: 0.1 for the first minute, then 25 increments of
		// 1 s costing round(0.05/60, 5) = 0.00083 each (CGRateS's ApierV1.GetCost
		// reply lists exactly these increments), connect fee 0.2:
		// 0.2+0.1+0.02075 = 0.32075, *up to 4 decimals = 0.3208. Exact
		// arithmetic without the per-increment rounding would give 0.3209.
		{"per-increment rounding", "1002", "1002", time.Date(2014, 8, 4, 13, 0, 0, 0, time.UTC), 85 * time.Second, Amount{3208, 4}, 85 * time.Second, 2},
		// DR_1007_MAXCOST_FREE: 0.01/s capped at 0.62 (*free).
		{"max cost free", "1001", "1007", time.Date(2026, 11, 3, 12, 0, 0, 0, time.UTC), 2 * time.Minute, Amount{6200, 4}, 2 * time.Minute, 1},
		{"under max cost", "1001", "1007", time.Date(2026, 11, 3, 12, 0, 0, 0, time.UTC), 30 * time.Second, Amount{3000, 4}, 30 * time.Second, 1},
		// DST_FS (prefix 10) is the fallback for 10xx without a longer match.
		{"longest prefix", "1001", "1099", time.Date(2026, 11, 3, 12, 0, 0, 0, time.UTC), 25 * time.Second, Amount{10000, 4}, 30 * time.Second, 1},
		// Off-peak to peak at 08:00 on a Tuesday: 30 s at 0.06 then 35 s
		// at 0.12 rounded up to 36 s (6 s increments); connect fee 0.02.
		{"timing split", "x", "+491511234567", time.Date(2026, 11, 3, 7, 59, 30, 0, time.UTC), 65 * time.Second, Amount{1220, 4}, 66 * time.Second, 2},
		// Evening timing (19:00) outranks PEAK (08:00) at equal weight:
		// it started later.
		{"latest timing wins", "x", "+491611234567", time.Date(2026, 11, 3, 19, 30, 0, 0, time.UTC), 60 * time.Second, Amount{800, 4}, 60 * time.Second, 1},
		// Midnight Friday->Saturday: 60 s off-peak, 60 s weekend.
		{"midnight into weekend", "x", "+491711234567", time.Date(2026, 11, 6, 23, 59, 0, 0, time.UTC), 2 * time.Minute, Amount{1100, 4}, 2 * time.Minute, 2},
		// Weekend only: 61 s -> 66 s at 0.03 = 0.033 + 0.02 = 0.053, *down
		// to the weekend rate's 2 decimals.
		{"rounding down 2 decimals", "x", "+491511234567", time.Date(2026, 11, 7, 10, 0, 0, 0, time.UTC), 61 * time.Second, Amount{5, 2}, 66 * time.Second, 1},
		// Christmas (weight 20) beats the weekday timings: free.
		{"holiday weight", "x", "+491511234567", time.Date(2026, 12, 25, 10, 0, 0, 0, time.UTC), 5 * time.Minute, Amount{0, 4}, 5 * time.Minute, 1},
		// Subject 1003 switches from RP_1001 to RP_1002 at 12:00:30. The
		// first span (30 s, 60 s increment) is rounded to 60 s and absorbs
		// RP_1002's first minute; the remaining 90 s are at RT_10CNT's
		// second slot, 0.00083 per second: 0.4 + 0.2 + 0.0747.
		{"activation split", "1003", "1002", time.Date(2026, 11, 3, 12, 0, 0, 0, time.UTC), 150 * time.Second, Amount{6747, 4}, 150 * time.Second, 2},
		// Subject 1004's RP_DE has no rate for 1002; its fallback subject
		// 1002 has (RT_10CNT: 60 s increment 0.1, connect fee 0.2).
		{"fallback subject", "1004", "1002", time.Date(2026, 11, 3, 12, 0, 0, 0, time.UTC), 10 * time.Second, Amount{3000, 4}, 60 * time.Second, 1},
		{"zero usage", "1001", "1002", time.Date(2026, 11, 3, 12, 0, 0, 0, time.UTC), 0, Amount{}, 0, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := p.Cost("", "", tt.subject, tt.dest, tt.start, tt.usage)
			if err != nil {
				t.Fatal(err)
			}
			if c.Amount != tt.want || c.Usage != tt.wantUsage || len(c.Spans) != tt.spans {
				t.Errorf("cost %s (%+v) usage %s spans %d; want %s usage %s spans %d\n%+v", c.Amount, c.Amount, c.Usage, len(c.Spans), tt.want, tt.wantUsage, tt.spans, c.Spans)
			}
		})
	}
	if _, err := p.Cost("", "", "1001", "4420", time.Date(2026, 11, 3, 12, 0, 0, 0, time.UTC), time.Minute); !errors.As(err, new(NoRateError)) {
		t.Errorf("unknown destination: %v", err)
	}
	if _, err := p.Cost("", "", "1001", "1002", time.Date(2010, 1, 1, 0, 0, 0, 0, time.UTC), time.Minute); err == nil {
		t.Error("call before the first activation rated")
	}
}

func TestCGRRound(t *testing.T) {
	for _, tt := range []struct {
		x, method string
		prec      int
		want      string
	}{
		{"0.32075", "*up", 4, "0.3208"},
		{"0.32075", "*down", 4, "0.3207"},
		{"0.32075", "*middle", 4, "0.3208"},
		{"0.32074", "*middle", 4, "0.3207"},
		{"0.10000000000001", "*up", 4, "0.1"}, // below 1e-7 of a unit: float noise to CGRateS
		{"0.10001", "*up", 4, "0.1001"},
	} {
		x, ok := new(big.Rat).SetString(tt.x)
		if !ok {
			t.Fatal(tt.x)
		}
		if got := ratString(cgrRound(x, tt.prec, tt.method)); got != tt.want {
			t.Errorf("Round(%s, %d, %s) = %s, want %s", tt.x, tt.prec, tt.method, got, tt.want)
		}
	}
}

func TestLoadTariffPlanErrors(t *testing.T) {
	base := fstest.MapFS{}
	for _, f := range cgrFiles {
		b, err := os.ReadFile("testdata/cgrates/tutorial/" + f)
		if err != nil {
			t.Fatal(err)
		}
		base[f] = &fstest.MapFile{Data: b}
	}
	bad := func(file, extra string) fstest.MapFS {
		m := fstest.MapFS{}
		for k, v := range base {
			m[k] = v
		}
		m[file] = &fstest.MapFile{Data: append(append([]byte(nil), base[file].Data...), extra...)}
		return m
	}
	for _, tt := range []struct{ file, extra, want string }{
		{"Rates.csv", "RT_BAD,0,-1,60s,60s,0s\n", "Rates.csv) line 14"},
		{"Rates.csv", "RT_BAD2,0,1,sixty,60s,0s\n", "duration \"sixty\""},
		{"DestinationRates.csv", "DR_X,DST_NOPE,RT_10CNT,*up,4,0,\n", "destination \"DST_NOPE\" not defined"},
		{"DestinationRates.csv", "DR_Y,DST_1002,RT_10CNT,*sideways,4,0,\n", "rounding method"},
		{"Timings.csv", "BAD,*any,13,*any,*any,00:00:00\n", "months"},
		{"RatingPlans.csv", "RP_X,DR_NOPE,*any,10\n", "DR_NOPE"},
		{"RatingProfiles.csv", "cgrates.org,call,9,2014-13-01T00:00:00Z,RP_1001,\n", "activation time"},
	} {
		_, err := LoadTariffPlan(bad(tt.file, tt.extra), TariffPlanOptions{Name: "t"})
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s + %q: err %v, want %q", tt.file, tt.extra, err, tt.want)
		}
	}
}

func FuzzLoadTariffPlan(f *testing.F) {
	rates, _ := os.ReadFile("testdata/cgrates/tutorial/Rates.csv")
	dr, _ := os.ReadFile("testdata/cgrates/tutorial/DestinationRates.csv")
	tm, _ := os.ReadFile("testdata/cgrates/tutorial/Timings.csv")
	f.Add(rates, dr, tm)
	f.Add([]byte("RT,0,1,1m,1s,0\n"), []byte("DR,DST_1002,RT,*up,2,1,*free\n"), []byte("T,2026,*any,*any,0;7,23:59:59\n"))
	dest, _ := os.ReadFile("testdata/cgrates/tutorial/Destinations.csv")
	plans, _ := os.ReadFile("testdata/cgrates/tutorial/RatingPlans.csv")
	profiles, _ := os.ReadFile("testdata/cgrates/tutorial/RatingProfiles.csv")
	f.Fuzz(func(t *testing.T, rates, dr, tm []byte) {
		m := fstest.MapFS{
			"Destinations.csv": {Data: dest}, "RatingPlans.csv": {Data: plans}, "RatingProfiles.csv": {Data: profiles},
			"Rates.csv": {Data: rates}, "DestinationRates.csv": {Data: dr}, "Timings.csv": {Data: tm},
		}
		p, err := LoadTariffPlan(m, TariffPlanOptions{Name: "fuzz"})
		if err != nil {
			var de *DeckError
			var des DeckErrors
			if !errors.As(err, &de) && !errors.As(err, &des) {
				t.Fatalf("error %T: %v", err, err)
			}
			return
		}
		for _, subj := range []string{"1001", "x"} {
			c, err := p.Cost("", "", subj, "+491511234", time.Date(2026, 11, 6, 23, 59, 0, 0, time.UTC), 3*time.Minute+7*time.Second)
			if err == nil && c.Amount.Units < 0 {
				t.Fatalf("negative cost %v", c.Amount)
			}
		}
	})
}

// TestCGRatesEngineTests prices the plan of CGRateS's engine package tests
// (engine/libtest.go) the way those tests run (6 intermediate decimals)
// and compares with the costs engine/calldesc_test.go asserts.
func TestCGRatesEngineTests(t *testing.T) {
	p, err := LoadTariffPlan(os.DirFS("testdata/cgrates/engine"), TariffPlanOptions{Name: "engine", RoundingDecimals: 6})
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name, tenant, category, subject, dest string
		start, end                            time.Time
		want                                  string
	}{
		// TestGetCost: 17:30-18:00 on P1 (1/s, connect fee 1), 18:00-18:30
		// on P2 (0.5/s): 1 + 1800 + 900.
		{"TestGetCost", "vdf", "0", "rif", "0256", time.Date(2012, 2, 2, 17, 30, 0, 0, time.UTC), time.Date(2012, 2, 2, 18, 30, 0, 0, time.UTC), "2701.0000"},
		// TestGetCostRounding: 180 increments of round(0.1/60, 6) = 0.001667
		// are 0.30006, *middle to 4 decimals: 0.3001 ("should be 0.3").
		{"TestGetCostRounding", "cgrates.org", "call", "round", "49", time.Date(2017, 2, 2, 17, 30, 0, 0, time.UTC), time.Date(2017, 2, 2, 17, 33, 0, 0, time.UTC), "0.3001"},
		// TestGetCostWithMaxCostFree: 1/s for 30 min capped at 10 (*free).
		{"TestGetCostWithMaxCostFree", "cgrates.org", "call", "max", "0723123113", time.Date(2015, 3, 23, 19, 0, 0, 0, time.UTC), time.Date(2015, 3, 23, 19, 30, 0, 0, time.UTC), "10.0000"},
		// TestMaxDebitRounding (GetCost): 0.15 connect fee + 24 s at 0.05/60,
		// *up to 2 decimals.
		{"TestMaxDebitRounding", "cgrates.org", "call", "dy", "0723123113", time.Date(2015, 10, 26, 13, 29, 27, 0, time.UTC), time.Date(2015, 10, 26, 13, 29, 51, 0, time.UTC), "0.17"},
		// TestDebitRoundingRefund (cost part): 3 min → 0.15 + 0.14994, *up: 0.3.
		{"TestDebitRoundingRefund", "cgrates.org", "call", "dy", "0723123113", time.Date(2016, 3, 4, 13, 50, 0, 0, time.UTC), time.Date(2016, 3, 4, 13, 53, 0, 0, time.UTC), "0.30"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c, err := p.Cost(tt.tenant, tt.category, tt.subject, tt.dest, tt.start, tt.end.Sub(tt.start))
			if err != nil {
				t.Fatal(err)
			}
			if c.Amount.String() != tt.want {
				t.Errorf("cost %s, want %s (%+v)", c.Amount, tt.want, c.Spans)
			}
		})
	}
}
