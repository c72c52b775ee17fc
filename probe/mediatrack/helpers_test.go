package mediatrack

import (
	"context"
	"net/netip"
	"path/filepath"
	"testing"

	"github.com/trunkscope/trunkscope/event"
	"github.com/trunkscope/trunkscope/probe"
)

// collector is a ReportSink that keeps a decoded copy of every report, as
// a real sink must copy (the report aliases the Tracker's buffers).
type collector struct {
	reports []event.RTPReport
	fail    error
}

func (c *collector) RTPReport(r *event.RTPReport) error {
	b := event.AppendRTPReport(nil, r)
	var d event.RTPReport
	if err := event.DecodeRTPReport(b, &d); err != nil {
		panic(err)
	}
	c.reports = append(c.reports, d)
	return c.fail
}

// finals returns the final reports.
func (c *collector) finals() []event.RTPReport {
	var out []event.RTPReport
	for _, r := range c.reports {
		if r.Final {
			out = append(out, r)
		}
	}
	return out
}

// of returns the reports of the stream from src to dst with ssrc, in order.
func (c *collector) of(src, dst netip.AddrPort, ssrc uint32) []event.RTPReport {
	var out []event.RTPReport
	for _, r := range c.reports {
		if r.Src == src && r.Dst == dst && r.SSRC == ssrc {
			out = append(out, r)
		}
	}
	return out
}

func newTracker(t testing.TB, sink ReportSink, opts ...Opt) *Tracker {
	t.Helper()
	tr, err := New(sink, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return tr
}

// discard is the probe's SIP sink when only media matters.
var discard = probe.SinkFunc(func(*event.SIP) error { return nil })

// replay runs a capture from ../testdata through a real Probe with tr as
// its MediaHandler, then flushes tr.
func replay(t testing.TB, file string, tr *Tracker) {
	t.Helper()
	p, err := probe.New(probe.Media(tr))
	if err != nil {
		t.Fatal(err)
	}
	if err := probe.ReadFile(context.Background(), filepath.Join("..", "testdata", file), p, discard, nil); err != nil {
		t.Fatal(err)
	}
	if err := tr.Flush(); err != nil {
		t.Fatal(err)
	}
}
