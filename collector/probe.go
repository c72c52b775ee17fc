package collector

import (
	"context"
	"encoding/hex"
	"fmt"
	"sort"
	"strings"

	"github.com/trunkscope/trunkscope/bus"
	"github.com/trunkscope/trunkscope/config"
	"github.com/trunkscope/trunkscope/event"
	"github.com/trunkscope/trunkscope/schema"
	"github.com/trunkscope/trunkscope/store"
)

// probeRows are active-probe results waiting to be stored: stateless for
// the collector, like RTP reports (their partitions commit once stored).
type probeRows struct {
	pings, calls [][]any
}

func (p *probeRows) n() int { return len(p.pings) + len(p.calls) }

// take returns the queued rows and empties the queue.
func (p *probeRows) take() probeRows {
	out := *p
	*p = probeRows{}
	return out
}

// store writes the rows (a no-op when there are none: Store.Insert skips
// empty batches).
func (p *probeRows) store(ctx context.Context, st store.Store, db string) error {
	if err := st.Insert(ctx, db+".options_pings", schema.OptionsPingColumns, p.pings); err != nil {
		return fmt.Errorf("collector: storing %d OPTIONS pings: %w", len(p.pings), err)
	}
	if err := st.Insert(ctx, db+".test_calls", schema.TestCallColumns, p.calls); err != nil {
		return fmt.Errorf("collector: storing %d test calls: %w", len(p.calls), err)
	}
	return nil
}

// isProbeKind reports whether k is an active-probe result.
func isProbeKind(k event.Kind) bool { return k == event.KindOptionsPing || k == event.KindTestCall }

// consumeProbe queues an OPTIONS ping or test call for storage.
func (c *Collector) consumeProbe(rec bus.Record, k event.Kind) {
	var row []any
	var err error
	if k == event.KindOptionsPing {
		var p event.OptionsPing
		if err = event.DecodeOptionsPing(rec.Value, &p); err == nil {
			row = pingRow(&p)
			c.probe.pings = append(c.probe.pings, row)
		}
	} else {
		var t event.TestCall
		if err = event.DecodeTestCall(rec.Value, &t); err == nil {
			row = testCallRow(&t)
			c.probe.calls = append(c.probe.calls, row)
		}
	}
	if err != nil {
		c.stats.DecodeErrors.Add(1)
		c.log.Warn("undecodable probe result skipped", "kind", k.String(), "partition", rec.Partition, "offset", rec.Offset, "err", err)
	}
	c.mediaTopics[rec.Topic] = true
}

func pingRow(p *event.OptionsPing) []any {
	return []any{hex.EncodeToString(p.ID[:]), usTime(p.TimeUS), uint64(p.TimeUS), string(p.Trunk), string(p.Target),
		p.Transport.String(), p.Code, p.RTTUS, p.Result.String(), p.State.String(), string(p.ProbeID), string(p.Detail)}
}

func testCallRow(t *event.TestCall) []any {
	return []any{hex.EncodeToString(t.ID[:]), usTime(t.TimeUS), uint64(t.TimeUS), string(t.Trunk), string(t.CallID),
		string(t.Target), t.Result.String(), t.Code, t.PDDMS, t.SetupMS, t.DurationMS, t.RxPackets, uint32(max(t.RxLost, 0)),
		t.JitterUS, t.MOSx1000, string(t.ProbeID), string(t.Detail), t.TxPackets}
}

// FailoverPeriod is a span in which a trunk of a group was down by the
// active probe (every one of its targets down), with the calls each trunk
// of the group carried meanwhile (from the CDRs the passive side built).
type FailoverPeriod struct {
	Group string
	// Trunk was down from FromUS (its first ping in state down) to ToUS
	// (its first ping no longer down; the end of the window if none).
	Trunk        string
	Priority     int
	FromUS, ToUS int64
	// Attempts and Answered per trunk of the group, during the period.
	Attempts, Answered map[string]int64
	// MovedTo is the best-priority other trunk that carried calls in the
	// period ("" when none did: the traffic did not fail over, or there
	// was none).
	MovedTo string
	// StillSent counts attempts the down trunk was still offered: a
	// switch that keeps routing to a dead trunk.
	StillSent int64
}

// Verified reports whether calls moved to another trunk of the group and
// none were left on the down one.
func (f *FailoverPeriod) Verified() bool { return f.MovedTo != "" && f.StillSent == 0 }

// Failover checks, for group g over [fromUS, toUS), every period in which
// one of its trunks was down and where the calls went meanwhile: the
// failover verification of the probe (DESIGN.md, "Probe (active input)").
func Failover(ctx context.Context, st store.Store, db string, g config.Group, fromUS, toUS int64) ([]FailoverPeriod, error) {
	prio := map[string]int{}
	quoted := make([]string, 0, len(g.Trunks))
	for _, m := range g.Trunks {
		prio[m.Trunk] = m.Priority
		quoted = append(quoted, store.Quote(m.Trunk))
	}
	in := strings.Join(quoted, ", ")
	r, err := st.Query(ctx, fmt.Sprintf("SELECT trunk, target, ts_us, state FROM %s.options_pings FINAL "+
		"WHERE trunk IN (%s) AND ts_us >= %d AND ts_us < %d ORDER BY ts_us, trunk, target", db, in, fromUS, toUS))
	if err != nil {
		return nil, fmt.Errorf("collector: failover pings: %w", err)
	}
	// A trunk is down while every target it was pinged on is down.
	latest := map[string]map[string]string{} // trunk -> target -> state
	open := map[string]int64{}               // trunk -> down since
	var periods []FailoverPeriod
	for i := range r.Data {
		trunk, target, ts, state := r.String(i, "trunk"), r.String(i, "target"), int64(r.Uint(i, "ts_us")), r.String(i, "state")
		if latest[trunk] == nil {
			latest[trunk] = map[string]string{}
		}
		latest[trunk][target] = state
		down := true
		for _, s := range latest[trunk] {
			down = down && s == "down"
		}
		since, isOpen := open[trunk]
		switch {
		case down && !isOpen:
			open[trunk] = ts
		case !down && isOpen:
			periods = append(periods, FailoverPeriod{Group: g.Name, Trunk: trunk, Priority: prio[trunk], FromUS: since, ToUS: ts})
			delete(open, trunk)
		}
	}
	if err := r.Err(); err != nil {
		return nil, err
	}
	for trunk, since := range open {
		periods = append(periods, FailoverPeriod{Group: g.Name, Trunk: trunk, Priority: prio[trunk], FromUS: since, ToUS: toUS})
	}
	sort.Slice(periods, func(i, j int) bool { return periods[i].FromUS < periods[j].FromUS })
	for i := range periods {
		p := &periods[i]
		c, err := st.Query(ctx, fmt.Sprintf("SELECT trunk, count() AS attempts, countIf(outcome = 'answered') AS answered "+
			"FROM %s.cdrs FINAL WHERE trunk IN (%s) AND start_us >= %d AND start_us < %d GROUP BY trunk", db, in, p.FromUS, p.ToUS))
		if err != nil {
			return nil, fmt.Errorf("collector: failover calls: %w", err)
		}
		p.Attempts, p.Answered = map[string]int64{}, map[string]int64{}
		for j := range c.Data {
			p.Attempts[c.String(j, "trunk")] = c.Int(j, "attempts")
			p.Answered[c.String(j, "trunk")] = c.Int(j, "answered")
		}
		if err := c.Err(); err != nil {
			return nil, err
		}
		p.StillSent = p.Attempts[p.Trunk]
		best := 0
		for _, m := range g.Trunks {
			if m.Trunk != p.Trunk && p.Attempts[m.Trunk] > 0 && (best == 0 || m.Priority < best) {
				best, p.MovedTo = m.Priority, m.Trunk
			}
		}
	}
	return periods, nil
}
