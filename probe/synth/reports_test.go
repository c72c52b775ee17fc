package synth

import (
	"io"
	"testing"
	"time"

	"github.com/trunkscope/trunkscope/event"
)

// TestStreamReports checks the synthetic media log: two streams per
// answered call, interval reports then one final report spanning the call
// from answer to end, unique content-derived IDs.
func TestStreamReports(t *testing.T) {
	truth, err := Generate(io.Discard, Options{Calls: 200, Seed: 3, NoRTP: true})
	if err != nil {
		t.Fatal(err)
	}
	byCall := map[string]CallTruth{}
	answered := 0
	for _, c := range truth.Calls {
		byCall[c.CallID] = c
		if c.AnswerUS != 0 {
			answered++
		}
	}
	ids := map[event.ID]bool{}
	finals := map[string]int{}
	err = StreamReports(truth, 5*time.Second, "p1", func(r *event.RTPReport) error {
		if ids[r.ID] {
			t.Fatalf("duplicate report id for %s dir %d seq %d", r.CallID, r.Direction, r.Seq)
		}
		ids[r.ID] = true
		c, ok := byCall[string(r.CallID)]
		if !ok || c.AnswerUS == 0 {
			t.Fatalf("report for unanswered or unknown call %s", r.CallID)
		}
		if r.Final {
			finals[string(r.CallID)]++
			if r.FirstUS != c.AnswerUS || r.LastUS != c.EndUS {
				t.Errorf("%s final spans %d..%d, call %d..%d", r.CallID, r.FirstUS, r.LastUS, c.AnswerUS, c.EndUS)
			}
			if want := uint64((c.EndUS - c.AnswerUS) / 20_000); r.Packets != want {
				t.Errorf("%s final packets %d, want %d", r.CallID, r.Packets, want)
			}
		} else if r.LastUS-r.FirstUS != 5_000_000 {
			t.Errorf("%s interval of %d us", r.CallID, r.LastUS-r.FirstUS)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(finals) != answered {
		t.Fatalf("final reports for %d calls, %d answered", len(finals), answered)
	}
	for id, n := range finals {
		if n != 2 {
			t.Errorf("%s: %d final reports, want one per direction", id, n)
		}
	}
}
