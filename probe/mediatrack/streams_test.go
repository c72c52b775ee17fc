package mediatrack

import (
	"bytes"
	"encoding/csv"
	"flag"
	"github.com/trunkscope/trunkscope/event"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// TestWriteTable lists the streams of three captures (interval reports
// included, which the table skips) in both formats, against golden files;
// -update rewrites them.
func TestWriteTable(t *testing.T) {
	var col collector
	for _, f := range []string{"sip_ipv4_tcp.pcap", "SIP_DTMF2.pcap", "pcmu_8k_no_jitter.pcap"} {
		replay(t, f, newTracker(t, &col, WiresharkJitter(true)))
	}
	// Shuffled input, same output: the rows are sorted.
	rev := make([]event.RTPReport, len(col.reports))
	for i, r := range col.reports {
		rev[len(rev)-1-i] = r
	}
	for _, format := range []string{"table", "csv"} {
		var got, again bytes.Buffer
		if err := WriteTable(&got, col.reports, format); err != nil {
			t.Fatal(err)
		}
		if err := WriteTable(&again, rev, format); err != nil || !bytes.Equal(got.Bytes(), again.Bytes()) {
			t.Errorf("%s: output depends on the input order (%v)", format, err)
		}
		golden := filepath.Join("testdata", "streams."+format+".golden")
		if *update {
			if err := os.WriteFile(golden, got.Bytes(), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		want, err := os.ReadFile(golden)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got.Bytes(), want) {
			t.Errorf("%s differs from %s (-update to rewrite):\n%s", format, golden, got.String())
		}
	}

	// tshark's columns, as it prints them for SIP_DTMF2's first stream.
	var tb bytes.Buffer
	_ = WriteTable(&tb, col.reports, "table")
	if !strings.Contains(tb.String(), "192.168.105.110  4374 192.168.105.172  4376 0x9A7B5382             PCMA   665     2 (0.3%)          60.002           0.019           0.010") {
		t.Errorf("no tshark-like row for 0x9A7B5382:\n%s", tb.String())
	}
	var cb bytes.Buffer
	_ = WriteTable(&cb, col.reports, "csv")
	rows, err := csv.NewReader(&cb).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 1+5 || len(rows[0]) != 14 || rows[0][0] != "src_addr" {
		t.Fatalf("csv: %q", rows)
	}
	if err := WriteTable(&cb, nil, "json"); err == nil {
		t.Error("unknown format accepted")
	}
}
