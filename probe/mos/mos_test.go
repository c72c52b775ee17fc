package mos

import (
	"math"
	"testing"
)

// handMOS is the E-model written out once more, step by step and apart from
// the package's code, so that the table below checks the package against
// the formulas of G.107 and not against itself:
//
//	Ie,eff = Ie + (95 - Ie) * Ppl / (Ppl/BurstR + Bpl)
//	R      = 93.2 - Ie,eff                        (Id = 0, passive)
//	MOS    = 1 + 0.035 R + 7e-6 R (R-60) (100-R)  (0 < R < 100)
func handMOS(ie, bpl, ppl, burstR float64) (ieEff, r, mos float64) {
	ieEff = ie
	if ppl > 0 {
		denominator := ppl/burstR + bpl
		ieEff = ie + (95-ie)*(ppl/denominator)
	}
	r = 93.2 - ieEff
	mos = 1 + 0.035*r + 0.000007*r*(r-60)*(100-r)
	return ieEff, r, mos
}

// TestEModel checks G.711 and G.729 at 0, 1 and 5 % random loss and with
// bursts. The want columns were computed by hand (python3, the formulas
// above) and are given to 6 decimals; the test also recomputes them with
// handMOS.
//
//	G.711 1 %:  Ie,eff = 95*1/(1/1+25.1) = 3.639847, R = 89.560153
//	G.711 5 %:  Ie,eff = 95*5/(5/1+25.1) = 15.780731, R = 77.419269
//	G.711 5 %, BurstR 2: Ie,eff = 95*5/(2.5+25.1) = 17.210145
//	G.729 1 %:  Ie,eff = 11 + 84*1/(1+19) = 15.2, R = 78
//	G.729 5 %:  Ie,eff = 11 + 84*5/(5+19) = 28.5, R = 64.7
//	Markov p = 0.02, q = 0.4: Ppl = p/(p+q) = 4.761905 %, BurstR = 1/0.42
func TestEModel(t *testing.T) {
	const p, q = 0.02, 0.4
	markovPpl, markovBurstR := 100*p/(p+q), 1/(p+q)
	for _, tc := range []struct {
		name        string
		c           Codec
		ppl, burstR float64
		ieEff, r    float64
		mos         float64
	}{
		{"G.711 0%", G711(), 0, 1, 0, 93.2, 4.409286},
		{"G.711 1%", G711(), 1, 1, 3.639847, 89.560153, 4.328075},
		{"G.711 5%", G711(), 5, 1, 15.780731, 77.419269, 3.922839},
		{"G.711 5% BurstR 2", G711(), 5, 2, 17.210145, 75.989855, 3.863862},
		{"G.711 Markov", G711(), markovPpl, markovBurstR, 16.693024, 76.506976, 3.885429},
		{"G.729 0%", G729(), 0, 1, 11, 82.2, 4.104375},
		{"G.729 1%", G729(), 1, 1, 15.2, 78, 3.946216},
		{"G.729 5%", G729(), 5, 1, 28.5, 64.7, 3.339641},
		{"G.729 5% BurstR 2", G729(), 5, 2, 30.534884, 62.665116, 3.236926},
		{"G.729 Markov", G729(), markovPpl, markovBurstR, 30.047619, 63.152381, 3.261683},
	} {
		t.Run(tc.name, func(t *testing.T) {
			hIe, hR, hMOS := handMOS(tc.c.Ie, tc.c.Bpl, tc.ppl, tc.burstR)
			near(t, "hand Ie,eff", hIe, tc.ieEff, 5e-6)
			near(t, "hand R", hR, tc.r, 5e-6)
			near(t, "hand MOS", hMOS, tc.mos, 5e-6)
			near(t, "IeEff", IeEff(tc.c, tc.ppl, tc.burstR), hIe, 1e-9)
			near(t, "R", R(tc.c, tc.ppl, tc.burstR, 0), hR, 1e-9)
			near(t, "MOS", MOS(tc.c, tc.ppl, tc.burstR, 0), hMOS, 1e-9)
		})
	}
}

// TestBurstsLowerMOS: at the same loss rate, bursty loss rates worse than
// random loss for a codec with finite Bpl (G.107 §7.5).
func TestBurstsLowerMOS(t *testing.T) {
	for _, c := range []Codec{G711(), G729(), G723()} {
		prev := 5.0
		for _, b := range []float64{1, 1.5, 2, 4, 8} {
			m := MOS(c, 3, b, 0)
			if m >= prev {
				t.Errorf("%s: MOS %.4f at BurstR %.1f is not below %.4f", c.Name, m, b, prev)
			}
			prev = m
		}
	}
}

func TestClamp(t *testing.T) {
	for _, tc := range []struct{ r, want float64 }{
		{-50, 1}, {0, 1}, {3, 1}, // the polynomial is 0.99996 at R = 3: clamped
		{100, 4.5}, {120, 4.5}, {math.Inf(1), 4.5}, {math.Inf(-1), 1}, {math.NaN(), 1},
		{50, 1 + 0.035*50 + 7e-6*50*(50-60)*(100-50)},
	} {
		if got := FromR(tc.r); math.Abs(got-tc.want) > 1e-12 {
			t.Errorf("FromR(%v) = %v, want %v", tc.r, got, tc.want)
		}
	}
	// 100 % loss with G.729: Ie,eff = 11 + 84*100/(100+19) = 81.588, R =
	// 11.61, still above 0: the polynomial, not the clamp.
	_, _, hand := handMOS(11, 19, 100, 1)
	near(t, "MOS at 100% loss", MOS(G729(), 100, 1, 0), hand, 1e-9)
	// A delay term large enough drives R below 0: MOS 1.
	if m := MOS(G711(), 0, 1, 120); m != 1 {
		t.Errorf("MOS with Id 120 = %v, want 1", m)
	}
	// Ppl outside [0, 100] is clamped, NaN is 0.
	if a, b := IeEff(G711(), 150, 1), IeEff(G711(), 100, 1); a != b {
		t.Errorf("Ppl 150 gives Ie,eff %v, Ppl 100 %v", a, b)
	}
	if a := IeEff(G711(), -3, 1); a != 0 {
		t.Errorf("Ppl -3 gives Ie,eff %v", a)
	}
	if a := IeEff(G711(), math.NaN(), 1); a != 0 {
		t.Errorf("Ppl NaN gives Ie,eff %v", a)
	}
	// Undefined burst ratio counts as random loss.
	if a, b := IeEff(G711(), 2, 0), IeEff(G711(), 2, 1); a != b {
		t.Errorf("BurstR 0 gives %v, BurstR 1 gives %v", a, b)
	}
}

// TestBurstRRandom: for independent loss with probability p, the Markov
// chain has q = 1 - p, and G.107's BurstR is exactly 1.
func TestBurstRRandom(t *testing.T) {
	for _, p := range []float64{0.001, 0.01, 0.05, 0.2, 0.5} {
		near(t, "BurstR random", BurstR(p, 1-p), 1, 1e-12)
	}
	// Counts of a random pattern: found->found 95*0.95, found->loss
	// 95*0.05, loss->found 5*0.95, loss->loss 5*0.05 (per 100 packets).
	near(t, "MarkovBurstR random counts", MarkovBurstR(9025, 475, 475, 25), 1, 1e-12)
	// Bursty: every loss burst is 4 long, one burst per 96 received:
	// p = 1/96, q = 1/4, BurstR = 1/(1/96 + 1/4) = 96/25 = 3.84.
	near(t, "MarkovBurstR bursts of 4", MarkovBurstR(95, 1, 1, 3), 96.0/25, 1e-12)
	if b := MarkovBurstR(100, 0, 0, 0); b != 1 {
		t.Errorf("no loss: BurstR %v, want 1", b)
	}
	// Ends inside its only burst: q = 0, BurstR = 1/p.
	near(t, "MarkovBurstR open burst", MarkovBurstR(9, 1, 0, 5), 10, 1e-12)
	if b := BurstR(0, 0); b != 1 {
		t.Errorf("BurstR(0, 0) = %v", b)
	}
}

// TestIdd checks G.107 formula 7-27 against values computed by hand:
// X = log2(Ta/100); Ta = 200 gives X = 1, Idd = 25 ((2)^(1/6) - 3 (1 +
// 1/729)^(1/6) + 2) = 3.044414; Ta = 400 gives X = 2, Idd = 24.070089.
func TestIdd(t *testing.T) {
	for _, tc := range []struct{ ta, want float64 }{
		{0, 0}, {50, 0}, {100, 0}, {150, 0.163531}, {200, 3.044414}, {300, 14.760695}, {400, 24.070089},
	} {
		near(t, "Idd", Idd(tc.ta), tc.want, 5e-6)
	}
	x := 1.0
	hand := 25 * (math.Pow(2, 1.0/6) - 3*math.Pow(1+math.Pow(x/3, 6), 1.0/6) + 2)
	near(t, "Idd(200) by hand", Idd(200), hand, 1e-12)
	// Delay lowers the rating by exactly Idd.
	near(t, "R with Idd", R(G711(), 0, 1, Idd(300)), 93.2-14.760695, 5e-6)
}

func TestLookup(t *testing.T) {
	for _, tc := range []struct {
		name    string
		ie, bpl float64
		ok, sub bool
	}{
		{"PCMU", 0, 25.1, true, false}, {"pcma", 0, 25.1, true, false},
		{"G729", 11, 19, true, false}, {"G723", 15, 16.1, true, false},
		{"G722", 0, 25.1, true, true}, {"OPUS", 0, 25.1, true, true},
		{"AMR-WB", 0, 25.1, false, true}, {"", 0, 25.1, false, true},
	} {
		c, ok := Lookup(tc.name)
		if c.Ie != tc.ie || c.Bpl != tc.bpl || ok != tc.ok || c.Substitute != tc.sub {
			t.Errorf("Lookup(%q) = %+v, %v", tc.name, c, ok)
		}
	}
	for pt, want := range map[uint8]float64{0: 0, 8: 0, 18: 11, 4: 15, 9: 0} {
		if c, ok := ForPayloadType(pt); !ok || c.Ie != want {
			t.Errorf("ForPayloadType(%d) = %+v, %v", pt, c, ok)
		}
	}
	if c, ok := ForPayloadType(111); ok || !c.Substitute || c.Bpl != 25.1 {
		t.Errorf("ForPayloadType(111) = %+v, %v", c, ok)
	}
}

func near(t *testing.T, what string, got, want, tol float64) {
	t.Helper()
	if math.Abs(got-want) > tol {
		t.Errorf("%s = %.9f, want %.9f (±%g)", what, got, want, tol)
	}
}
