package alert

import (
	"net/http"
	"path/filepath"
	"testing"
	"time"

	"github.com/trunkscope/trunkscope/config"
)

func TestStateMachine(t *testing.T) {
	r := Defaults(config.AlertRule{Name: "x", Kind: "code_spike", Code: 503, For: 2 * time.Minute, KeepFiringFor: 2 * time.Minute})
	t0 := time.Date(2026, 1, 5, 9, 0, 0, 0, time.UTC)
	in := &Instance{Rule: "x", Trunk: "a"}
	at := func(m int) time.Time { return t0.Add(time.Duration(m) * time.Minute) }
	// true, false before For: pending then back, no notification.
	if tr := in.step(r, at(0), true, 1, nil); tr != nil || in.Phase != Pending {
		t.Fatalf("minute 0: %v %s", tr, in.Phase)
	}
	if tr := in.step(r, at(1), false, 0, nil); tr != nil || in.Phase != Inactive {
		t.Fatalf("minute 1: %v %s", tr, in.Phase)
	}
	// true for For: fires once.
	var fired []time.Time
	for m := 2; m <= 6; m++ {
		if tr := in.step(r, at(m), true, 1, nil); tr != nil {
			fired = append(fired, tr.At)
		}
	}
	if len(fired) != 1 || !fired[0].Equal(at(4)) || in.Phase != Firing {
		t.Fatalf("fired %v, phase %s", fired, in.Phase)
	}
	// A one-minute dip does not resolve (keep_firing_for), a true again
	// keeps it firing without a new notification.
	if tr := in.step(r, at(7), false, 0, nil); tr != nil || in.Phase != Firing {
		t.Fatalf("dip: %v %s", tr, in.Phase)
	}
	if tr := in.step(r, at(8), true, 1, nil); tr != nil {
		t.Fatalf("flap notified: %v", tr)
	}
	// Clear for keep_firing_for: resolved once.
	var res []time.Time
	for m := 9; m <= 12; m++ {
		if tr := in.step(r, at(m), false, 0, nil); tr != nil {
			if !tr.Resolved() {
				t.Fatalf("minute %d: %+v", m, tr)
			}
			res = append(res, tr.At)
		}
	}
	if len(res) != 1 || !res[0].Equal(at(10)) || in.Phase != Inactive {
		t.Fatalf("resolved %v, phase %s", res, in.Phase)
	}
	// State round-trips through its file.
	s := &State{LastEval: at(12), Instances: map[string]*Instance{key("x", "a"): in}}
	p := filepath.Join(t.TempDir(), "a", "state.json")
	if err := s.Save(p); err != nil {
		t.Fatal(err)
	}
	back, err := LoadState(p)
	if err != nil || !back.LastEval.Equal(at(12)) || back.Instances[key("x", "a")].ResolvedAt != in.ResolvedAt {
		t.Fatalf("loaded %+v, %v", back, err)
	}
}

func TestSignature(t *testing.T) {
	body := []byte(`{"status":"firing"}`)
	now := time.Unix(1767603600, 0)
	h := http.Header{}
	h.Set("X-Trunkscope-Timestamp", "1767603600")
	h.Set("X-Trunkscope-Signature", "sha256="+Sign("s3cret", "1767603600", body))
	if err := VerifySignature("s3cret", h, body, now, 5*time.Minute); err != nil {
		t.Fatal(err)
	}
	if err := VerifySignature("other", h, body, now, 5*time.Minute); err == nil {
		t.Fatal("wrong secret verified")
	}
	if err := VerifySignature("s3cret", h, []byte(`{"status":"resolved"}`), now, 5*time.Minute); err == nil {
		t.Fatal("altered body verified")
	}
	if err := VerifySignature("s3cret", h, body, now.Add(time.Hour), 5*time.Minute); err == nil {
		t.Fatal("stale timestamp verified")
	}
}

func TestDefaultRulesComplete(t *testing.T) {
	for _, r := range Rules(config.DefaultAlerts()) {
		if r.Window <= 0 || r.KeepFiringFor <= 0 || r.Severity == "" {
			t.Errorf("%s: %+v", r.Name, r)
		}
	}
}

func FuzzVerifySignature(f *testing.F) {
	f.Add("1767603600", "sha256=00", []byte("{}"))
	f.Add("", "", []byte(nil))
	f.Add("-1", "sha256=zz", []byte("x"))
	f.Fuzz(func(t *testing.T, ts, sig string, body []byte) {
		h := http.Header{}
		h.Set("X-Trunkscope-Timestamp", ts)
		h.Set("X-Trunkscope-Signature", sig)
		if VerifySignature("k", h, body, time.Unix(1767603600, 0), time.Minute) == nil && sig != "sha256="+Sign("k", ts, body) {
			t.Fatalf("accepted a wrong signature %q", sig)
		}
	})
}
