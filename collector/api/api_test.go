package api

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/trunkscope/trunkscope/collector"
	"github.com/trunkscope/trunkscope/rating"
	"github.com/trunkscope/trunkscope/schema"
	"github.com/trunkscope/trunkscope/store"
	"github.com/trunkscope/trunkscope/store/storetest"
)

var base = time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)

// fixture writes n CDRs cycling through trunks, directions, outcomes and
// numbers, every third one rated and every fifth with media of MOS 3.1.
func fixture(t testing.TB, st store.Store, db string, n int) {
	t.Helper()
	ctx := context.Background()
	if _, err := schema.Migrate(ctx, st, db); err != nil {
		t.Fatal(err)
	}
	trunks := []string{"carrier-a", "carrier-b", "did-in"}
	outs := []collector.Outcome{collector.Answered, collector.Busy, collector.Rejected, collector.Timeout}
	codes := []uint16{200, 486, 503, 0}
	var rows, rated, rtp [][]any
	for i := 0; i < n; i++ {
		c := collector.CDR{CallID: fmt.Sprintf("call-%06d@example.net", i), Leg: 0, Trunk: trunks[i%3],
			Direction: []string{collector.Inbound, collector.Outbound}[i%2], ProbeID: "p1",
			Caller: fmt.Sprintf("0201234%03d", i%1000), Callee: fmt.Sprintf("00%d44207946%04d", i%2, i%10000),
			CallerE164: fmt.Sprintf("31201234%03d", i%1000), SrcIP: "192.0.2.1", DstIP: "198.51.100.10",
			StartUS: base.Add(time.Duration(i) * time.Second).UnixMicro(), Outcome: outs[i%4], FinalCode: codes[i%4],
			PDDMs: 1200, RingMs: -1, Version: 1}
		if c.Outcome == collector.Answered {
			c.AnswerUS = c.StartUS + 3e6
			c.EndUS = c.StartUS + 63e6
			c.DurationMs = 60000
		} else {
			c.EndUS = c.StartUS + 2e6
		}
		rows = append(rows, c.Row())
		if i%3 == 0 {
			r := collector.Rated{CallID: c.CallID, Leg: 0, Side: "cost", Trunk: c.Trunk, StartUS: c.StartUS, Deck: "d",
				DeckVersion: "v1", Prefix: "44", Destination: "UK", BillableS: 60,
				Amount: rating.Amount{Units: 123, Decimals: 4}, Currency: "EUR", Version: 1}
			rated = append(rated, r.Row())
		}
		if i%5 == 0 {
			rtp = append(rtp, []any{fmt.Sprintf("r%d", i), time.UnixMicro(c.StartUS).UTC(), "p1", c.CallID, "192.0.2.1", uint16(4000),
				"198.51.100.10", uint16(5000), uint32(i), uint8(8), "PCMA", uint32(8000), uint8(1), uint32(1),
				uint64(c.StartUS), uint64(c.EndUS), uint64(100), uint64(100), int64(0), uint64(0), uint64(0), uint32(0),
				uint32(0), uint32(0), uint32(0), uint32(0), uint64(0), uint64(0), uint32(3100), uint32(3100), uint32(3100), uint8(1)})
		}
	}
	for _, ins := range []struct {
		table string
		cols  []string
		rows  [][]any
	}{{"cdrs", schema.CDRColumns, rows}, {"rated_cdrs", schema.RatedCDRColumns, rated}, {"rtp_reports", schema.RTPReportColumns, rtp}} {
		for i := 0; i < len(ins.rows); i += 20000 {
			if err := st.Insert(ctx, db+"."+ins.table, ins.cols, ins.rows[i:min(i+20000, len(ins.rows))]); err != nil {
				t.Fatal(err)
			}
		}
	}
}

type page struct {
	CDRs []CDR `json:"cdrs"`
	Next string
}

func get(t testing.TB, srv *httptest.Server, path string, v any) int {
	t.Helper()
	resp, err := http.Get(srv.URL + path)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if v != nil && resp.StatusCode == 200 {
		if err := json.Unmarshal(b, v); err != nil {
			t.Fatalf("GET %s: %v\n%s", path, err, b)
		}
	}
	return resp.StatusCode
}

var engines = []struct {
	name string
	open func(testing.TB) (store.Store, string)
}{{"chdb", storetest.Embedded}, {"clickhouse-18.16", storetest.Server}}

// TestCDRQuery runs the filters, paging and injection attempts on both
// engines, through a real HTTP server on loopback.
func TestCDRQuery(t *testing.T) {
	for _, e := range engines {
		t.Run(e.name, func(t *testing.T) {
			st, db := e.open(t)
			fixture(t, st, db, 400)
			srv := httptest.NewServer(New(Options{Store: st, Database: db}))
			defer srv.Close()

			count := func(q string) int {
				t.Helper()
				var p page
				if code := get(t, srv, "/api/v1/cdrs?limit=10000&"+q, &p); code != 200 {
					t.Fatalf("%s: status %d", q, code)
				}
				return len(p.CDRs)
			}
			from := url.QueryEscape(base.Add(100 * time.Second).Format(time.RFC3339))
			to := url.QueryEscape(base.Add(200 * time.Second).Format(time.RFC3339))
			for q, want := range map[string]int{
				"":                                400,
				"trunk=carrier-b":                 133,
				"direction=inbound":               200,
				"outcome=busy":                    100,
				"final_code=503":                  100,
				"final_code=0":                    100,
				"trunk=did-in&direction=outbound": 66,
				"from=" + from + "&to=" + to:      100,
				"caller=020123400":                10, // as sent: 0201234000..009
				"caller=%2B3120123400":            10, // E.164
				"callee=00144":                    200,
				"mos_below=3.2":                   80,
				"mos_below=3.0":                   0,
				"trunk=nope":                      0,
			} {
				if got := count(q); got != want {
					t.Errorf("%q: %d CDRs, want %d", q, got, want)
				}
			}
			// Rated and media fields come through.
			var p page
			get(t, srv, "/api/v1/cdrs?limit=1", &p)
			if c := p.CDRs[0]; c.Cost != "0.0123" || c.Currency != "EUR" || c.MOS == nil || *c.MOS != 3.1 || c.Destination != "UK" {
				t.Errorf("first CDR: %+v", c)
			}
			// Paging walks every row once, in order.
			seen := map[string]bool{}
			next, pages := "", 0
			for {
				var p page
				if code := get(t, srv, "/api/v1/cdrs?limit=37&trunk=carrier-a&cursor="+next, &p); code != 200 {
					t.Fatalf("page %d: %d", pages, code)
				}
				pages++
				for _, c := range p.CDRs {
					if seen[c.CallID] {
						t.Fatalf("%s twice", c.CallID)
					}
					seen[c.CallID] = true
				}
				if next = p.Next; next == "" {
					break
				}
			}
			if len(seen) != 134 || pages != 4 {
				t.Errorf("paging: %d CDRs in %d pages, want 134 in 4", len(seen), pages)
			}
			// A call and the KPI endpoint read the same store.
			var call Call
			if code := get(t, srv, "/api/v1/calls/call-000003@example.net", &call); code != 200 ||
				len(call.Legs) != 1 || call.Legs[0].Trunk != "carrier-a" || call.Legs[0].Cost != "0.0123" {
				t.Errorf("call: %d %+v", code, call)
			}
			if err := collector.RecomputeRollups(context.Background(), st, db, base, base.Add(time.Hour)); err != nil {
				t.Fatal(err)
			}
			var kp struct{ KPIs []KPI }
			if code := get(t, srv, "/api/v1/kpis?by=trunk&step=5m&from=2026-03-02T10:00:00Z&to=2026-03-02T11:00:00Z", &kp); code != 200 {
				t.Fatalf("kpis: %d", code)
			}
			attempts := map[string]int64{}
			for _, k := range kp.KPIs {
				attempts[k.Trunk] += k.Attempts
			}
			if attempts["carrier-a"] != 134 || attempts["carrier-b"] != 133 || attempts["did-in"] != 133 {
				t.Errorf("KPI attempts per trunk: %v", attempts)
			}
			injections(t, srv, st, db, 400)
		})
	}
}

// injections sends hostile values in every filter: each is refused (400)
// or finds nothing, and the data is intact afterwards.
func injections(t *testing.T, srv *httptest.Server, st store.Store, db string, total int) {
	t.Helper()
	hostile := []string{
		"' OR 1=1 --", "x' OR '1'='1", "carrier-a'; DROP TABLE " + db + ".cdrs; --", `\' OR 1=1 --`,
		"1) OR (1=1", "0 OR 1=1", "200 UNION SELECT * FROM system.tables", "') ; TRUNCATE TABLE " + db + ".cdrs --",
		"carrier-a\x00' OR 1=1", "%' OR '%'='", "1e309", "NaN", "-1", "\\", "'",
	}
	params := append(append([]string{}, filterParams...), "cursor", "limit")
	for _, p := range params {
		for _, h := range hostile {
			for _, path := range []string{"/api/v1/cdrs", "/api/v1/cdrs/export"} {
				if path == "/api/v1/cdrs/export" && (p == "cursor" || p == "limit") {
					continue
				}
				resp, err := http.Get(srv.URL + path + "?" + p + "=" + url.QueryEscape(h))
				if err != nil {
					t.Fatal(err)
				}
				b, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				switch resp.StatusCode {
				case 400:
				case 200:
					n := 0
					if path == "/api/v1/cdrs" {
						var pg page
						json.Unmarshal(b, &pg)
						n = len(pg.CDRs)
					} else {
						n = strings.Count(string(b), "\n") - 1
					}
					if n != 0 {
						t.Errorf("%s %s=%q: %d rows, want none or 400", path, p, h, n)
					}
				default:
					t.Errorf("%s %s=%q: status %d: %s", path, p, h, resp.StatusCode, b)
				}
			}
		}
	}
	for _, path := range []string{"/api/v1/kpis?trunk=", "/api/v1/kpis?by=", "/api/v1/kpis?step=", "/api/v1/calls/"} {
		for _, h := range hostile {
			resp, err := http.Get(srv.URL + path + url.PathEscape(h))
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != 400 && resp.StatusCode != 404 && resp.StatusCode != 200 {
				t.Errorf("%s%q: status %d", path, h, resp.StatusCode)
			}
		}
	}
	r, err := st.Query(context.Background(), "SELECT count() AS n FROM "+db+".cdrs FINAL")
	if err != nil {
		t.Fatalf("cdrs after injection attempts: %v", err)
	}
	if n := r.Int(0, "n"); n != int64(total) {
		t.Fatalf("cdrs after injection attempts: %d rows, want %d", n, total)
	}
}

func TestBadRequests(t *testing.T) {
	st, db := storetest.Embedded(t)
	fixture(t, st, db, 10)
	srv := httptest.NewServer(New(Options{Store: st, Database: db, Token: "s3cret"}))
	defer srv.Close()
	// Health endpoints are open; everything under /api needs the token.
	if code := get(t, srv, "/healthz", nil); code != 200 {
		t.Fatalf("healthz: %d", code)
	}
	if code := get(t, srv, "/readyz", nil); code != 200 {
		t.Fatalf("readyz: %d", code)
	}
	if code := get(t, srv, "/api/v1/cdrs", nil); code != 401 {
		t.Fatalf("no token: %d", code)
	}
	do := func(path, token string) int {
		req, _ := http.NewRequest("GET", srv.URL+path, nil)
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if code := do("/api/v1/cdrs", "wrong"); code != 401 {
		t.Fatalf("wrong token: %d", code)
	}
	for path, want := range map[string]int{
		"/api/v1/cdrs":                                200,
		"/api/v1/cdrs?direction=sideways":             400,
		"/api/v1/cdrs?trunk=a&trunk=b":                400,
		"/api/v1/cdrs?colour=red":                     400,
		"/api/v1/cdrs?from=yesterday":                 400,
		"/api/v1/cdrs?from=2026-03-03&to=2026-03-02":  400,
		"/api/v1/cdrs?limit=0":                        400,
		"/api/v1/cdrs?cursor=!!":                      400,
		"/api/v1/cdrs/export?format=xml":              400,
		"/api/v1/kpis?by=country":                     400,
		"/api/v1/kpis?step=10s":                       400,
		"/api/v1/kpis?by=carrier-destination&step=1h": 200,
		"/api/v1/calls/nope":                          404,
		"/api/v1/calls/call-000001@example.net":       200,
		"/api/v1/nothing":                             404,
	} {
		if code := do(path, "s3cret"); code != want {
			t.Errorf("%s: %d, want %d", path, code, want)
		}
	}
}

// TestExportCSV checks the export's CSV against the query API.
func TestExportCSV(t *testing.T) {
	st, db := storetest.Embedded(t)
	fixture(t, st, db, 120)
	srv := httptest.NewServer(New(Options{Store: st, Database: db, PageSize: 50}))
	defer srv.Close()
	resp, err := http.Get(srv.URL + "/api/v1/cdrs/export?format=csv&outcome=answered")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	recs, err := csv.NewReader(resp.Body).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 31 || strings.Join(recs[0], ",") != strings.Join(csvColumns, ",") {
		t.Fatalf("%d records, header %v", len(recs), recs[0])
	}
	var p page
	get(t, srv, "/api/v1/cdrs?limit=100&outcome=answered", &p)
	for i, c := range p.CDRs {
		if strings.Join(c.record(), ",") != strings.Join(recs[i+1], ",") {
			t.Fatalf("row %d: csv %v, api %v", i, recs[i+1], c.record())
		}
	}
}
