package main

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"math/big"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/trunkscope/trunkscope/config"
	"github.com/trunkscope/trunkscope/probe/synth"
	"github.com/trunkscope/trunkscope/store/storetest"
)

func loadTruth(t *testing.T, pcap string) *synth.Truth {
	t.Helper()
	tr, err := synth.ReadTruth(pcap)
	if err != nil {
		t.Fatal(err)
	}
	return tr
}

// expectedCost prices a call from the built-in decks with arithmetic of its
// own (exact rationals, a linear prefix scan), independent of package
// rating: the end-to-end check must not share the code it checks.
type deckRow struct {
	prefix              string
	rate, fee           *big.Rat
	initial, subsequent int64
	destination         string
}

func loadDecks(t *testing.T) map[string][]deckRow {
	t.Helper()
	cfg := config.Default()
	byDeck := map[string][]deckRow{}
	for _, d := range cfg.Decks {
		f, err := cfg.OpenDeck(d)
		if err != nil {
			t.Fatal(err)
		}
		recs, err := csv.NewReader(f).ReadAll()
		f.Close()
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range recs[1:] { // prefix,destination,rate,connect_fee,increments
			rate, _ := new(big.Rat).SetString(r[2])
			fee, _ := new(big.Rat).SetString(r[3])
			inc := strings.Split(r[4], "/")
			i, _ := strconv.ParseInt(inc[0], 10, 64)
			s, _ := strconv.ParseInt(inc[1], 10, 64)
			byDeck[d.Name] = append(byDeck[d.Name], deckRow{r[0], rate, fee, i, s, r[1]})
		}
	}
	byTrunk := map[string][]deckRow{}
	for _, tr := range cfg.Trunks {
		byTrunk[tr.Name] = byDeck[tr.Deck]
	}
	return byTrunk
}

func expectedCost(rows []deckRow, callee string, durationMs int64) (cost, destination string, billable int64) {
	var best *deckRow
	for i := range rows {
		if strings.HasPrefix(callee, rows[i].prefix) && (best == nil || len(rows[i].prefix) > len(best.prefix)) {
			best = &rows[i]
		}
	}
	if best == nil {
		return "", "", 0
	}
	if durationMs <= 0 {
		return "0.0000", best.destination, 0
	}
	secs := (durationMs + 999) / 1000
	billable = best.initial
	if secs > best.initial {
		billable += (secs - best.initial + best.subsequent - 1) / best.subsequent * best.subsequent
	}
	c := new(big.Rat).Mul(best.rate, big.NewRat(billable, 60))
	c.Add(c, best.fee)
	// Half-up to 4 decimals: floor(c*10^4 + 1/2).
	c.Mul(c, big.NewRat(10000, 1)).Add(c, big.NewRat(1, 2))
	units := new(big.Int).Quo(c.Num(), c.Denom())
	return fmt.Sprintf("%d.%04d", units.Int64()/10000, units.Int64()%10000), best.destination, billable
}

func usTS(us int64) string {
	if us == 0 {
		return ""
	}
	return time.UnixMicro(us).UTC().Format("2006-01-02T15:04:05.000000Z")
}

// checkAgainstTruth compares every exported CDR with the generator's ground
// truth: one CDR per call, each field to the microsecond or millisecond,
// each cost to the last decimal.
func checkAgainstTruth(t *testing.T, truth *synth.Truth, got []exported) {
	t.Helper()
	if len(got) != len(truth.Calls) {
		t.Errorf("%d CDRs, ground truth has %d calls", len(got), len(truth.Calls))
	}
	checkCalls(t, truth, got, func(synth.CallTruth) bool { return false })
}

// checkCalls compares CDRs with the truth; calls for which mayMiss is true
// may have no CDR (yet).
func checkCalls(t *testing.T, truth *synth.Truth, got []exported, mayMiss func(synth.CallTruth) bool) {
	t.Helper()
	decks := loadDecks(t)
	byID := map[string]exported{}
	for _, e := range got {
		if _, dup := byID[e.CallID]; dup {
			t.Errorf("call %s stored twice", e.CallID)
		}
		byID[e.CallID] = e
	}
	perTrunkOutcome := map[string]int{}
	for _, c := range truth.Calls {
		perTrunkOutcome[c.Trunk+"/"+c.Outcome]++
		e, ok := byID[c.CallID]
		if !ok {
			if !mayMiss(c) {
				t.Errorf("call %s (%s, %s) has no CDR", c.CallID, c.Trunk, c.Outcome)
			}
			continue
		}
		want := exported{
			CallID: c.CallID, Trunk: c.Trunk, Direction: c.Direction, Caller: c.Caller, Callee: c.Callee,
			Start: usTS(c.StartUS), Answer: usTS(c.AnswerUS), End: usTS(c.EndUS), PDDMs: c.PDDMs,
			DurationMs: c.DurationMs, Outcome: c.Outcome, FinalCode: c.FinalCode, HangupBy: c.HangupBy,
			Currency: "EUR",
		}
		want.Cost, want.Destination, want.BillableS = expectedCost(decks[c.Trunk], c.Callee, c.DurationMs)
		gotCmp := e
		gotCmp.Flags = ""
		if gotCmp != want {
			t.Errorf("call %s:\n got  %+v\n want %+v", c.CallID, gotCmp, want)
		}
	}
	for k, n := range perTrunkOutcome {
		if len(got) != len(truth.Calls) {
			break // a partial set: the per-call checks above said it all
		}
		m := 0
		for _, e := range got {
			if e.Trunk+"/"+e.Outcome == k {
				m++
			}
		}
		if m != n {
			t.Errorf("%s: %d CDRs, truth %d", k, m, n)
		}
	}
}

func TestGeneratedCaptureMatchesGroundTruth(t *testing.T) {
	dir := t.TempDir()
	pcap := filepath.Join(dir, "calls.pcap")
	data := filepath.Join(dir, "data")
	mustRun(t, "gen", "--calls", "150", "--seed", "7", "--mean-duration", "12s", "--out", pcap)
	truth := loadTruth(t, pcap)
	outcomes := map[string]bool{}
	for _, c := range truth.Calls {
		outcomes[c.Outcome] = true
	}
	if len(outcomes) != 6 {
		t.Fatalf("generated capture covers outcomes %v, want all six", outcomes)
	}
	r := mustRun(t, "replay", pcap, "--data", data)
	for _, want := range []string{"carrier-a", "carrier-b", "carrier-c", "did-in", "TOTAL", "dropped: none"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("replay output lacks %q:\n%s", want, r.stdout)
		}
	}
	first := exportCDRs(t, data)
	checkAgainstTruth(t, truth, first)
	checkMediaKPIs(t, truth, data)

	// The same capture again into the same data directory: nothing doubles.
	mustRun(t, "replay", pcap, "--data", data)
	again := exportCDRs(t, data)
	checkAgainstTruth(t, truth, again)
	if fmt.Sprint(first) != fmt.Sprint(again) {
		t.Error("second replay changed the exported CDRs")
	}
}

// checkMediaKPIs: every answered call of the generated capture carried
// G.711 both ways without loss, so the quality rollup counts each as a
// media leg, none one-way, and a MOS mean of the codec's 4.41 or so.
func checkMediaKPIs(t *testing.T, truth *synth.Truth, data string) {
	t.Helper()
	answered := map[string]int64{}
	for _, c := range truth.Calls {
		if c.Outcome == "answered" {
			answered[c.Trunk]++
		}
	}
	for _, k := range kpis(t, data, "trunk") {
		if k.MediaLegs != answered[k.Trunk] || k.OneWayLegs != 0 {
			t.Errorf("trunk %s: %d media legs (%d one-way), want %d answered calls with two-way audio",
				k.Trunk, k.MediaLegs, k.OneWayLegs, answered[k.Trunk])
		}
		if k.MOSMean == nil || *k.MOSMean < 4.3 || *k.MOSMean > 4.5 {
			t.Errorf("trunk %s: MOS mean %v for clean G.711", k.Trunk, k.MOSMean)
		}
	}
}

// A 20,000-call signalling-only capture stays small and replays exactly.
func TestLargeSignallingCapture(t *testing.T) {
	if testing.Short() {
		t.Skip("large capture: skipped with -short only")
	}
	dir := t.TempDir()
	pcap := filepath.Join(dir, "big.pcap")
	data := filepath.Join(dir, "data")
	mustRun(t, "gen", "--calls", "20000", "--seed", "3", "--no-rtp", "--cps", "20", "--out", pcap)
	if fi, _ := os.Stat(pcap); fi.Size() > 100<<20 {
		t.Fatalf("20,000-call signalling capture is %d bytes", fi.Size())
	}
	mustRun(t, "replay", pcap, "--data", data)
	checkAgainstTruth(t, loadTruth(t, pcap), exportCDRs(t, data))
}

// The process dies (SIGKILL) after the events are on Kafka and before any
// CDR is stored; replaying again on the same data directory stores every
// call exactly once.
func TestCrashBetweenPublishAndStore(t *testing.T) {
	dir := t.TempDir()
	pcap := filepath.Join(dir, "calls.pcap")
	data := filepath.Join(dir, "data")
	mustRun(t, "gen", "--calls", "120", "--seed", "11", "--no-rtp", "--out", pcap)
	r := trunkscope(t, []string{"TRUNKSCOPE_FAILPOINT=collector-before-store"}, "replay", pcap, "--data", data)
	if !r.killed || !strings.Contains(r.stderr, "failpoint collector-before-store") {
		t.Fatalf("replay was not killed at the failpoint: exit %d\n%s", r.code, r.stderr)
	}
	// Nothing was stored, but the events are in the broker's data directory.
	if got := exportCDRs(t, data); len(got) != 0 {
		t.Fatalf("%d CDRs stored before the crash point", len(got))
	}
	mustRun(t, "replay", pcap, "--data", data)
	checkAgainstTruth(t, loadTruth(t, pcap), exportCDRs(t, data))
}

// The same pipeline with a ClickHouse 18.16 server as the store instead of
// chDB: schema, inserts, the summary and the export join all run there too.
func TestGroundTruthOnClickHouseServer(t *testing.T) {
	addr := storetest.ServerAddr(t)
	dir := t.TempDir()
	cfg := writeConfig(t, dir, func(s string) string {
		return strings.Replace(s, "  addrs: []            # empty: embedded chDB under the data directory", "  addrs: ["+addr+"]", 1)
	})
	pcap := filepath.Join(dir, "calls.pcap")
	data := filepath.Join(dir, "data")
	mustRun(t, "gen", "--calls", "60", "--seed", "5", "--no-rtp", "--out", pcap)
	r := mustRun(t, "replay", pcap, "--data", data, "--config", cfg)
	if !strings.Contains(r.stdout, "TOTAL") {
		t.Fatalf("no summary:\n%s", r.stdout)
	}
	if _, err := os.Stat(filepath.Join(data, "clickhouse")); err == nil {
		t.Fatal("chDB was used although the configuration names a server")
	}
	out := mustRun(t, "cdr", "export", "--data", data, "--config", cfg, "--format", "jsonl")
	var got []exported
	for _, l := range strings.Split(strings.TrimSpace(out.stdout), "\n") {
		var e exported
		if err := json.Unmarshal([]byte(l), &e); err != nil {
			t.Fatalf("%q: %v", l, err)
		}
		got = append(got, e)
	}
	checkAgainstTruth(t, loadTruth(t, pcap), got)
}

// A long replay is killed (SIGKILL) at several random points, before a
// batch is stored and after it is stored but before its offsets are
// committed, and restarted each time on the same data directory. In the end
// every CDR and every KPI total equals the ground truth exactly.
func TestCrashAtRandomPoints(t *testing.T) {
	dir := t.TempDir()
	pcap := filepath.Join(dir, "calls.pcap")
	data := filepath.Join(dir, "data")
	cfg := writeConfig(t, dir, func(s string) string {
		// Many batches and frequent commits: many crash points.
		s = strings.Replace(s, "batch_size: 20000", "batch_size: 150", 1)
		return strings.Replace(s, "flush_interval: 1s", "flush_interval: 20ms", 1)
	})
	mustRun(t, "gen", "--calls", "600", "--seed", "17", "--no-rtp", "--cps", "4", "--out", pcap)
	rng := rand.New(rand.NewPCG(17, 4))
	points := []string{"collector-before-store", "collector-before-commit"}
	for i := 0; i < 4; i++ {
		fp := fmt.Sprintf("%s:%d", points[i%2], 1+rng.IntN(6))
		r := trunkscope(t, []string{"TRUNKSCOPE_FAILPOINT=" + fp}, "replay", pcap, "--data", data, "--config", cfg)
		if !r.killed {
			t.Fatalf("replay with failpoint %s was not killed: exit %d\n%s", fp, r.code, r.stderr)
		}
		t.Logf("killed at %s", fp)
	}
	mustRun(t, "replay", pcap, "--data", data, "--config", cfg)
	truth := loadTruth(t, pcap)
	checkAgainstTruth(t, truth, exportCDRsWith(t, data, "--config", cfg))
	rows := kpis(t, data, "trunk", "--config", cfg)
	byTrunk := map[string][]synth.CallTruth{}
	for _, c := range truth.Calls {
		byTrunk[c.Trunk] = append(byTrunk[c.Trunk], c)
	}
	for _, got := range rows {
		sameKPI(t, "after crashes, trunk "+got.Trunk, got, handKPI(byTrunk[got.Trunk]))
	}
}
