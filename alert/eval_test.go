package alert

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/trunkscope/trunkscope/config"
	"github.com/trunkscope/trunkscope/schema"
	"github.com/trunkscope/trunkscope/store/storetest"
)

// The evaluator on real rollups (chDB): a 503 burst written into
// kpi_codes_minute fires after `for`, holds while it lasts, resolves after
// keep_firing_for, and Alertmanager receives API v2 alerts with the
// documented fields. A restarted evaluator (state reloaded) does not
// re-fire.
func TestEvaluatorOnRollups(t *testing.T) {
	st, db := storetest.Embedded(t)
	ctx := context.Background()
	if _, err := schema.Migrate(ctx, st, db); err != nil {
		t.Fatal(err)
	}
	t0 := time.Date(2026, 1, 5, 9, 0, 0, 0, time.UTC)
	var rows [][]any
	for m := 0; m < 40; m++ {
		at := t0.Add(time.Duration(m) * time.Minute)
		c503 := uint64(1)
		if m >= 15 && m < 22 {
			c503 = 12 // the burst
		}
		rows = append(rows,
			[]any{at, "carrier-a", "outbound", uint16(200), uint64(18), uint64(1)},
			[]any{at, "carrier-a", "outbound", uint16(503), c503, uint64(1)},
			[]any{at, "carrier-b", "outbound", uint16(200), uint64(20), uint64(1)})
	}
	if err := st.Insert(ctx, db+".kpi_codes_minute", []string{"minute", "trunk", "direction", "code", "n", "version"}, rows); err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var posted [][]map[string]any
	am := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost || r.URL.Path != "/api/v2/alerts" || r.Header.Get("Content-Type") != "application/json" {
			t.Errorf("%s %s %s", r.Method, r.URL.Path, r.Header.Get("Content-Type"))
		}
		var as []map[string]any
		if err := json.NewDecoder(r.Body).Decode(&as); err != nil {
			t.Error(err)
		}
		mu.Lock()
		posted = append(posted, as)
		mu.Unlock()
	}))
	defer am.Close()
	rule := Defaults(config.AlertRule{Name: "sip_503_spike", Kind: "code_spike", Code: 503, Severity: "critical"})
	// The same rule restricted to another trunk never fires.
	other := Defaults(config.AlertRule{Name: "b_only", Kind: "code_spike", Code: 503, Trunks: []string{"carrier-b"}})
	wall := time.Date(2026, 11, 24, 3, 0, 0, 0, time.UTC)
	newEv := func(s *State) *Evaluator {
		return &Evaluator{Store: st, DB: db, Rules: []Rule{rule, other}, Channels: "toUInt32(0)", Interval: time.Minute, State: s,
			Notifiers: []Notifier{&Alertmanager{URLs: []string{am.URL}, Now: func() time.Time { return wall }}}, DashboardURL: "http://grafana"}
	}
	ev := newEv(&State{Instances: map[string]*Instance{}})
	trs, err := ev.Run(ctx, t0, t0.Add(20*time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	if len(trs) != 1 || trs[0].To != Firing || trs[0].Instance.Trunk != "carrier-a" {
		t.Fatalf("transitions %+v", trs)
	}
	// The burst starts at 09:15; the window sees enough of it at 09:17
	// (pending), and for: 1m later it fires.
	if want := t0.Add(18 * time.Minute); !trs[0].At.Equal(want) {
		t.Fatalf("fired at %s, want %s", trs[0].At, want)
	}
	a := posted[0][0]
	labels := a["labels"].(map[string]any)
	if labels["alertname"] != "sip_503_spike" || labels["trunk"] != "carrier-a" || labels["severity"] != "critical" ||
		a["startsAt"] != "2026-01-05T09:18:00Z" || a["endsAt"] != "2026-11-24T03:05:00Z" ||
		!strings.HasPrefix(a["generatorURL"].(string), "http://grafana/d/trunkscope-trunk?var-trunk=carrier-a") {
		t.Fatalf("posted %v", a)
	}
	// A new evaluator with the saved state continues where it stopped.
	ev2 := newEv(ev.State)
	trs, err = ev2.Run(ctx, t0, t0.Add(40*time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	if len(trs) != 1 || trs[0].To != Inactive {
		t.Fatalf("second run: %+v", trs)
	}
	last := posted[len(posted)-1][0]
	if last["endsAt"] != trs[0].At.Format(time.RFC3339) {
		t.Fatalf("resolved alert posted %v, resolved at %s", last, trs[0].At)
	}
	// Nothing new: nothing posted.
	n := len(posted)
	if trs, _ := ev2.Run(ctx, t0, t0.Add(40*time.Minute)); len(trs) != 0 || len(posted) != n {
		t.Fatalf("idle run: %v, %d posts", trs, len(posted)-n)
	}
}
