package main

import (
	"context"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/trunkscope/trunkscope/collector"
)

func cmdRebuild(e *env, args []string) error {
	fs := flagSet(e, "rebuild", "[--from T --to T] [flags]", `Recomputes the CDRs, rated CDRs and per-minute KPI rollups of every call with
SIP events captured in [--from, --to) from the raw events stored in ClickHouse
(sip_events), with this build's code and the configuration given (trunks,
digit rules, decks), then reports what changed: calls and events replayed,
legs rebuilt, changed (column by column) and unchanged, rated CDRs rewritten,
and the KPI totals of the affected minutes before and after.

Only what differs is written, so a rebuild with unchanged code and
configuration changes nothing. Calls still open at the end of the events
(live calls) are left as they are. Needs the data directory: stop
'trunkscope run' first (the embedded store is single-process).

Examples:
  trunkscope rebuild
  trunkscope rebuild --from 2026-03-01 --to 2026-03-02 --config new-digit-rules.yml`)
	var c common
	c.register(fs)
	var rng timeRange
	rng.register(fs)
	quiet := fs.Bool("quiet", false, "no progress bar")
	showChanges := fs.Int("show", 50, "list at most this many changed legs")
	if err := parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 0 {
		return usagef("unexpected argument %q", fs.Arg(0))
	}
	s, from, to, err := c.openRange(e, &rng)
	if err != nil {
		return err
	}
	defer s.Close()
	ctx := context.Background()
	pricing, err := currentPricing(ctx, s.cfg, s.st, s.db())
	if err != nil {
		return err
	}
	cc := s.cfg.Collector
	o := collector.RebuildOptions{Database: s.db(), From: from, To: to, CorrelationHeader: cc.CorrelationHeader,
		Timers: collector.Timers{Invite: cc.InviteTimeout, Proceeding: cc.ProceedingTimeout, MaxDuration: cc.MaxDuration, Linger: cc.Linger}}
	bar := &progressBar{w: e.stderr, start: time.Now()}
	if !*quiet {
		o.Progress = bar.update
	}
	rep, err := collector.Rebuild(ctx, s.st, collector.NewTrunks(s.cfg.Trunks, s.cfg.Numbering), pricing, o)
	if !*quiet {
		bar.finish()
	}
	if err != nil {
		return err
	}
	printRebuild(e.stdout, rep, *showChanges)
	return nil
}

func printRebuild(w io.Writer, rep *collector.RebuildReport, show int) {
	fmt.Fprintf(w, "replayed %d SIP events of %d calls\n", rep.Events, rep.Calls)
	if rep.Events == 0 {
		fmt.Fprintln(w, "nothing to rebuild in that range")
		return
	}
	changed, added := 0, 0
	for _, c := range rep.Changes {
		if c.New {
			added++
		} else {
			changed++
		}
	}
	fmt.Fprintf(w, "legs: %d rebuilt, %d unchanged, %d changed, %d new", rep.Legs, rep.Unchanged, changed, added)
	if rep.Open > 0 {
		fmt.Fprintf(w, ", %d still open (left as stored)", rep.Open)
	}
	if rep.Missing > 0 {
		fmt.Fprintf(w, ", %d stored but no longer produced (left as stored)", rep.Missing)
	}
	fmt.Fprintln(w)
	fmt.Fprintf(w, "rated CDRs: %d rated, %d rewritten\n", rep.Rated, rep.RatedChanged)
	b, a := rep.KPIBefore, rep.KPIAfter
	fmt.Fprintf(w, "KPI totals %s .. %s (before -> after):\n", rep.KPIFrom.Format(time.RFC3339), rep.KPITo.Format(time.RFC3339))
	for _, f := range []struct {
		name string
		b, a int64
	}{{"attempts", b.Attempts, a.Attempts}, {"answered", b.Answered, a.Answered}, {"connected_ms", b.ConnectedMs, a.ConnectedMs},
		{"busy", b.Busy, a.Busy}, {"no_answer", b.NoAnswer, a.NoAnswer}, {"cancelled", b.Cancelled, a.Cancelled},
		{"rejected", b.Rejected, a.Rejected}, {"timeout", b.Timeout, a.Timeout}, {"408", b.C408, a.C408},
		{"503", b.C503, a.C503}, {"pdd_count", b.PDDCount, a.PDDCount}} {
		mark := ""
		if f.b != f.a {
			mark = "  (changed)"
		}
		fmt.Fprintf(w, "  %-13s %d -> %d%s\n", f.name, f.b, f.a, mark)
	}
	if len(rep.Changes) == 0 {
		fmt.Fprintln(w, "no CDR changed")
		return
	}
	fmt.Fprintf(w, "changed legs:\n")
	for i, c := range rep.Changes {
		if i == show {
			fmt.Fprintf(w, "  ... and %d more\n", len(rep.Changes)-show)
			break
		}
		if c.New {
			fmt.Fprintf(w, "  %s leg %d: new\n", c.CallID, c.Leg)
			continue
		}
		fmt.Fprintf(w, "  %s leg %d: %s\n", c.CallID, c.Leg, strings.Join(c.Fields, "; "))
	}
}

// progressBar draws "[#####.....]  50% 1200/2400 events" on one line of
// stderr.
type progressBar struct {
	w     io.Writer
	start time.Time
	drawn bool
}

func (p *progressBar) update(done, total int64) {
	if total <= 0 {
		return
	}
	const width = 30
	n := int(done * width / total)
	fmt.Fprintf(p.w, "\rrebuild [%s%s] %3d%% %d/%d events %s", strings.Repeat("#", n), strings.Repeat(".", width-n),
		done*100/total, done, total, time.Since(p.start).Round(100*time.Millisecond))
	p.drawn = true
}

func (p *progressBar) finish() {
	if p.drawn {
		fmt.Fprintln(p.w)
	}
}
