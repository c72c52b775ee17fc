package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/trunkscope/trunkscope/collector"
	"github.com/trunkscope/trunkscope/config"
	"github.com/trunkscope/trunkscope/probe"
	"github.com/trunkscope/trunkscope/probe/mediatrack"
	"github.com/trunkscope/trunkscope/probe/pcapfile"
)

func cmdReplay(e *env, args []string) error {
	fs := flagSet(e, "replay", "FILE [flags]", `Reads a pcap or pcapng capture as fast as possible, publishes every SIP message
as an event on Kafka, lets the collector build CDRs from them into ClickHouse,
rates them, and prints the per-trunk table. Replaying the same capture into the
same data directory again does not duplicate anything.`)
	var c common
	c.register(fs)
	realtime := fs.Bool("realtime", false, "replay at the recorded speed (packet spacing as captured) instead of as fast as possible")
	streams := fs.Bool("streams", false, "also print the RTP streams (like tshark -z rtp,streams): addresses, SSRC, codec, packets, lost, jitter, MOS, Call-ID")
	streamsFormat := fs.String("streams-format", "table", "table or csv, for --streams")
	if err := parse(fs, args); err != nil {
		return err
	}
	if *streamsFormat != "table" && *streamsFormat != "csv" {
		return usagef("--streams-format %q: want table or csv", *streamsFormat)
	}
	if fs.NArg() != 1 {
		return usagef("need exactly one capture file, got %d arguments", fs.NArg())
	}
	cfg, err := config.Load(c.config)
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := replay(ctx, e, cfg, c.data, fs.Arg(0), *realtime); err != nil {
		return err
	}
	if !*streams {
		return nil
	}
	return printStreams(ctx, e, cfg, c.data, *streamsFormat)
}

// printStreams lists the final RTP stream reports stored in the data
// directory.
func printStreams(ctx context.Context, e *env, cfg *config.Config, dataDir, format string) error {
	s, err := openStack(ctx, cfg, dataDir, false, e.log)
	if err != nil {
		return err
	}
	defer s.Close()
	reports, err := collector.StreamReports(ctx, s.st, s.db())
	if err != nil {
		return err
	}
	fmt.Fprintln(e.stdout)
	if err := mediatrack.WriteTable(e.stdout, reports, format); err != nil {
		return err
	}
	if format != "table" {
		return nil // csv is for tools: the streams alone
	}
	counts, err := collector.RTCPCounts(ctx, s.st, s.db())
	if err != nil || len(counts) == 0 {
		return err
	}
	fmt.Fprint(e.stdout, "RTCP blocks stored:")
	for _, c := range counts {
		fmt.Fprintf(e.stdout, " %s/%s=%d (%d calls)", c.Source, c.Kind, c.Blocks, c.Calls)
	}
	fmt.Fprintln(e.stdout)
	return nil
}

// replay runs the embedded pipeline over one capture and prints the table.
func replay(ctx context.Context, e *env, cfg *config.Config, dataDir, path string, realtime bool) error {
	// Check the file before starting engines: a typo should not cost the
	// seconds an engine takes to start.
	r, err := pcapfile.Open(path)
	if err != nil {
		return err
	}
	r.Close()
	s, err := openStack(ctx, cfg, dataDir, true, e.log)
	if err != nil {
		return err
	}
	defer s.Close()
	start := time.Now()

	prod := s.newProducer()
	// The media tracker follows every call's RTP from its SDP and reports
	// each stream to the same producer; Flush ends them with the capture.
	tracker, err := mediatrack.New(prod, mediatrack.ProbeID(cfg.ProbeID))
	if err != nil {
		return err
	}
	p, err := probe.New(probe.ProbeID(cfg.ProbeID), probe.Media(tracker))
	if err != nil {
		return err
	}
	var read, total atomic.Int64
	done := make(chan struct{})
	go progress(e.stderr, done, func() string {
		t := total.Load()
		if t == 0 {
			return ""
		}
		return fmt.Sprintf("replay: %s %3.0f%% (%s of %s)", path, 100*float64(read.Load())/float64(t), mb(read.Load()), mb(t))
	})
	report := func(rd, tot int64) { read.Store(rd); total.Store(tot) }
	if realtime {
		err = readPaced(ctx, path, p, prod, report)
	} else {
		err = probe.ReadFile(ctx, path, p, prod, report)
	}
	close(done)
	if err == nil {
		err = tracker.Flush()
	}
	if err != nil {
		prod.Close(context.WithoutCancel(ctx))
		return err
	}
	if err := prod.Close(ctx); err != nil {
		return err
	}
	ps := p.Stats()
	e.log.Info("capture published", "file", path, "packets", ps.Packets, "sip", ps.SIPMessages, "events", prod.Sent(), "took", time.Since(start).Round(time.Millisecond))

	col, cons, pending, err := s.drainer(ctx)
	if err != nil {
		return err
	}
	defer cons.Close()
	done = make(chan struct{})
	go progress(e.stderr, done, func() string {
		st := col.Stats()
		return fmt.Sprintf("collector: %d events consumed, %d CDRs stored", st.Consumed.Load(), st.StoredCDRs.Load())
	})
	err = col.Drain(ctx, pending, ps.LastUS)
	close(done)
	if err != nil {
		return err
	}
	sum, err := collector.Summary(ctx, s.st, s.db())
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "%s: %d packets, %d SIP messages, %d events through Kafka, collector and store in %s\n",
		path, ps.Packets, ps.SIPMessages, prod.Sent(), time.Since(start).Round(time.Millisecond))
	printDrops(e.stdout, ps)
	cs := col.Stats()
	if n := cs.DecodeErrors.Load(); n > 0 {
		fmt.Fprintf(e.stdout, "collector: %d undecodable events skipped\n", n)
	}
	if n := cs.Unrated.Load(); n > 0 {
		fmt.Fprintf(e.stdout, "rating: %d calls had no rate for their destination (not priced)\n", n)
	}
	counts, err := collector.SIPCounts(ctx, s.st, s.db())
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "data directory %s: all SIP messages and CDRs stored so far:\n", dataDir)
	fmt.Fprint(e.stdout, "SIP messages:")
	for _, c := range counts {
		fmt.Fprintf(e.stdout, " %s=%d", c.Kind, c.Count)
	}
	fmt.Fprintln(e.stdout)
	fmt.Fprintln(e.stdout)
	printSummary(e.stdout, sum)
	return nil
}

func printDrops(w io.Writer, ps probe.Stats) {
	line := ""
	for _, d := range ps.Drops() {
		if d.Value > 0 {
			line += fmt.Sprintf(" %s=%d", d.Name, d.Value)
		}
	}
	if line == "" {
		line = " none"
	}
	fmt.Fprintf(w, "dropped:%s\n", line)
}

func mb(n int64) string { return fmt.Sprintf("%.1f MB", float64(n)/1e6) }

// progress prints a status line every two seconds until done: long replays
// and imports must show they are moving.
func progress(w io.Writer, done <-chan struct{}, line func() string) {
	every(2*time.Second, done, func() {
		if l := line(); l != "" {
			fmt.Fprintln(w, l)
		}
	})
}

// every calls fn every d until done is closed.
func every(d time.Duration, done <-chan struct{}, fn func()) {
	t := time.NewTicker(d)
	defer t.Stop()
	for {
		select {
		case <-done:
			return
		case <-t.C:
			fn()
		}
	}
}

func printSummary(w io.Writer, sum []collector.TrunkSummary) {
	fmt.Fprintf(w, "%-12s %-9s %8s %8s %6s %7s %9s %14s   %s\n", "TRUNK", "DIR", "ATTEMPTS", "ANSWERED", "ASR", "ACD", "MINUTES", "COST", "OUTCOMES")
	var tot collector.TrunkSummary
	for _, s := range sum {
		name := s.Trunk
		if name == "" {
			name = "(unknown)"
		}
		cost := "-"
		if s.Currency != "" {
			cost = s.Cost.String() + " " + s.Currency
		}
		fmt.Fprintf(w, "%-12s %-9s %8d %8d %5.1f%% %7s %9.2f %14s   %s\n", name, s.Direction, s.Attempts, s.Answered,
			s.ASR(), acd(s.ACD()), float64(s.DurationMs)/60000, cost, outcomes(s.Outcomes))
		tot.Attempts += s.Attempts
		tot.Answered += s.Answered
		tot.DurationMs += s.DurationMs
	}
	fmt.Fprintf(w, "%-12s %-9s %8d %8d %5.1f%% %7s %9.2f\n", "TOTAL", "", tot.Attempts, tot.Answered, tot.ASR(), acd(tot.ACD()), float64(tot.DurationMs)/60000)
}

func acd(d time.Duration) string {
	s := int64(d.Round(time.Second) / time.Second)
	return fmt.Sprintf("%d:%02d", s/60, s%60)
}

func outcomes(m map[collector.Outcome]int64) string {
	var out string
	for _, o := range []collector.Outcome{collector.Answered, collector.Busy, collector.NoAnswer, collector.Cancelled, collector.Rejected, collector.Timeout} {
		if n := m[o]; n > 0 {
			if out != "" {
				out += " "
			}
			out += fmt.Sprintf("%s=%d", o, n)
		}
	}
	return out
}

// readPaced feeds a capture to the probe at its recorded speed: each packet
// waits until as much wall time has passed since the first as capture time
// did. Timestamps stay the capture's, so the results equal a fast replay.
func readPaced(ctx context.Context, path string, p *probe.Probe, sink probe.Sink, progress func(read, total int64)) error {
	r, err := pcapfile.Open(path)
	if err != nil {
		return err
	}
	defer r.Close()
	var first int64
	start := time.Now()
	timer := time.NewTimer(0)
	defer timer.Stop()
	for {
		data, ts, lt, err := r.Next()
		if errors.Is(err, io.EOF) {
			progress(r.Offset(), r.Size())
			return nil
		}
		if err != nil {
			return fmt.Errorf("replay %s: %w", path, err)
		}
		if first == 0 {
			first = ts
		}
		if wait := time.Duration(ts-first)*time.Microsecond - time.Since(start); wait > 0 {
			timer.Reset(wait)
			select {
			case <-ctx.Done():
				return fmt.Errorf("replay %s: %w", path, ctx.Err())
			case <-timer.C:
			}
			progress(r.Offset(), r.Size())
		}
		if err := p.Packet(lt, ts, data, sink); err != nil {
			return err
		}
	}
}
