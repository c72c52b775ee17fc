package api

import (
	"bufio"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	"github.com/trunkscope/trunkscope/store/storetest"
)

// TestExport100k streams 100,000 CDRs as JSON lines through a loopback
// server while sampling the Go heap: the export must hold one page at a
// time, not the whole result (which alone is over 100 MB as parsed rows).
func TestExport100k(t *testing.T) {
	const n = 100000
	st, db := storetest.Embedded(t)
	fixture(t, st, db, n)
	srv := httptest.NewServer(New(Options{Store: st, Database: db}))
	defer srv.Close()

	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	baseline := ms.HeapInuse
	var peak atomic.Uint64
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		var m runtime.MemStats
		for {
			select {
			case <-stop:
				return
			case <-time.After(20 * time.Millisecond):
			}
			runtime.ReadMemStats(&m)
			if m.HeapInuse > peak.Load() {
				peak.Store(m.HeapInuse)
			}
		}
	}()
	resp, err := http.Get(srv.URL + "/api/v1/cdrs/export?format=jsonl")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	rows, bytes := 0, 0
	var last CDR
	for sc.Scan() {
		rows++
		bytes += len(sc.Bytes()) + 1
		if rows == n {
			if err := json.Unmarshal(sc.Bytes(), &last); err != nil {
				t.Fatal(err)
			}
		}
	}
	close(stop)
	<-done
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if rows != n || last.CallID != "call-099999@example.net" {
		t.Fatalf("exported %d rows, last %q", rows, last.CallID)
	}
	grew := int64(peak.Load()) - int64(baseline)
	t.Logf("exported %d rows, %.1f MB; Go heap in use grew by at most %.1f MB", rows, float64(bytes)/1e6, float64(grew)/1e6)
	if grew > 40<<20 {
		t.Fatalf("heap grew by %d MB while exporting %.0f MB: the export is not streamed", grew>>20, float64(bytes)/1e6)
	}
}
