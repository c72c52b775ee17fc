package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"text/tabwriter"
	"time"

	"github.com/trunkscope/trunkscope/collector"
	"github.com/trunkscope/trunkscope/config"
	"github.com/trunkscope/trunkscope/event"
	"github.com/trunkscope/trunkscope/probe"
	"github.com/trunkscope/trunkscope/probe/hep"
	"github.com/trunkscope/trunkscope/probe/mediatrack"
	"github.com/trunkscope/trunkscope/probe/synth"
	"github.com/trunkscope/trunkscope/rating"
	"github.com/trunkscope/trunkscope/schema"
	"github.com/trunkscope/trunkscope/store"
)

func cmdBench(e *env, args []string) error {
	fs := flagSet(e, "bench", "[probe|rating|collector ...] [flags]", `Measures trunkscope's hot paths on this machine and prints the figures:
  probe      a generated G.711 capture (>= 95% RTP) read from a file and turned
             into events in memory (Kafka excluded); HEP3 frames carrying SIP
             decoded into events
  rating     importing a generated 200,000-prefix deck, pricing CDRs on it
  collector  a day's event log (100,000 calls: SIP through the probe plus
             RTP stream reports) published to kfake, then the collector
             alone draining it into chDB: CDRs, rollups, commits; with
             --brokers and --clickhouse, the same on the production path
  kpi        10 million CDRs generated in chDB over 30 days and 20 trunks,
             rollups recomputed, KPI queries timed (not run by default)
With no part named, all run. Single-threaded figures; run on an idle machine.`)
	calls := fs.Int("calls", 300, "calls in the probe's capture (with RTP)")
	pipelineCalls := fs.Int("pipeline-calls", 100000, "calls in the collector's day (signalling capture plus RTP stream reports)")
	prefixes := fs.Int("prefixes", 200000, "rows in the generated rate deck")
	kpiRows := fs.Int("kpi-cdrs", 10_000_000, "CDRs generated for the kpi part")
	var servers prodBench
	servers.register(fs)
	if err := parse(fs, args); err != nil {
		return err
	}
	parts := fs.Args()
	if len(parts) == 0 {
		parts = []string{"probe", "rating", "collector"}
	}
	dir, err := os.MkdirTemp("", "trunkscope-bench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	tw := tabwriter.NewWriter(e.stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "BENCHMARK\tFIGURE\tDETAIL")
	quiet := &env{stdout: ioDiscard{}, stderr: ioDiscard{}, log: e.log}
	for _, part := range parts {
		switch part {
		case "probe":
			err = benchProbe(tw, quiet, dir, *calls)
		case "rating":
			err = benchRating(tw, *prefixes)
		case "collector":
			err = benchCollector(tw, quiet, dir, *pipelineCalls, servers)
		case "kpi":
			err = benchKPI(tw, e, dir, *kpiRows)
		default:
			return usagef("unknown part %q: probe, rating or collector", part)
		}
		if err != nil {
			return fmt.Errorf("bench %s: %w", part, err)
		}
		tw.Flush()
	}
	return nil
}

func benchProbe(tw io.Writer, e *env, dir string, calls int) error {
	pcap := filepath.Join(dir, "media.pcap")
	if err := generate(e, pcap, synth.Options{Calls: calls, Seed: 1}); err != nil {
		return err
	}
	reports := 0
	rbuf := make([]byte, 0, 4096)
	tracker, err := mediatrack.New(mediatrack.ReportFunc(func(r *event.RTPReport) error {
		rbuf = event.AppendRTPReport(rbuf[:0], r)
		reports++
		return nil
	}))
	if err != nil {
		return err
	}
	p, _ := probe.New(probe.Media(tracker))
	buf := make([]byte, 0, 64<<10)
	var events []*event.SIP
	sink := probe.SinkFunc(func(ev *event.SIP) error {
		buf = event.AppendSIP(buf[:0], ev)
		var c event.SIP
		if err := event.DecodeSIP(bytes.Clone(buf), &c); err == nil {
			events = append(events, &c)
		}
		return nil
	})
	os.ReadFile(pcap) // into the page cache, as for tshark below
	start := time.Now()
	if err := probe.ReadFile(context.Background(), pcap, p, sink, nil); err != nil {
		return err
	}
	if err := tracker.Flush(); err != nil {
		return err
	}
	el := time.Since(start)
	ps := p.Stats()
	fmt.Fprintf(tw, "probe: capture file -> SIP events and RTP stream reports\t%.2fM packets/s\t%d packets (%d SIP, %d RTP-like), %d stream reports, in %s, page cache\n",
		float64(ps.Packets)/el.Seconds()/1e6, ps.Packets, ps.SIPMessages, ps.RTPLike, reports, el.Round(time.Millisecond))
	if path, err := exec.LookPath("tshark"); err == nil {
		start := time.Now()
		if out, err := exec.Command(path, "-n", "-q", "-z", "rtp,streams", "-r", pcap).CombinedOutput(); err != nil {
			return fmt.Errorf("tshark: %v: %s", err, out)
		}
		tel := time.Since(start)
		fmt.Fprintf(tw, "tshark -z rtp,streams, same capture\t%.2fM packets/s\t%s; trunkscope is %.0fx faster\n",
			float64(ps.Packets)/tel.Seconds()/1e6, tel.Round(time.Millisecond), tel.Seconds()/el.Seconds())
	}

	// HEP3: the same SIP messages as frames, decoded and turned into events.
	var frames [][]byte
	for _, ev := range events {
		f, err := hep.Append(nil, &hep.Packet{Version: 3, IPProto: 17, ProtoType: hep.ProtoSIP, Src: ev.Src, Dst: ev.Dst,
			TimeUS: ev.TimeUS, CaptureID: 1, Payload: ev.Raw})
		if err != nil {
			return err
		}
		frames = append(frames, f)
	}
	const rounds = 40
	var d hep.Decoder
	var pk hep.Packet
	n := 0
	start = time.Now()
	for r := 0; r < rounds; r++ {
		hp, _ := probe.New(probe.DedupWindow(0), probe.RetransmissionWindow(0))
		for _, f := range frames {
			if err := d.Decode(f, &pk); err != nil {
				return err
			}
			if err := hp.Payload(pk.TimeUS, pk.Src, pk.Dst, event.TransportUDP, pk.Payload, probe.Meta{Flags: event.FlagHEP}, sink2(&buf)); err != nil {
				return err
			}
			n++
		}
	}
	el = time.Since(start)
	fmt.Fprintf(tw, "probe: HEP3 frames -> events\t%.0fk packets/s\t%d frames of SIP (decode, scan, event ID, encode) in %s\n",
		float64(n)/el.Seconds()/1e3, n, el.Round(time.Millisecond))
	return nil
}

// sink2 encodes events into a reused buffer and drops them.
func sink2(buf *[]byte) probe.Sink {
	return probe.SinkFunc(func(ev *event.SIP) error { *buf = event.AppendSIP((*buf)[:0], ev); return nil })
}

func benchRating(tw io.Writer, prefixes int) error {
	var deckCSV bytes.Buffer
	if err := rating.GenerateDeckCSV(&deckCSV, prefixes, 1); err != nil {
		return err
	}
	size := deckCSV.Len()
	start := time.Now()
	deck, err := rating.LoadDeck(&deckCSV, rating.DeckOptions{Name: "bench"})
	if err != nil {
		return err
	}
	fmt.Fprintf(tw, "rating: deck import\t%s\t%d prefixes, %.1f MB CSV\n", time.Since(start).Round(time.Millisecond), deck.Len(), float64(size)/1e6)
	rates := deck.Rates()
	rng := rand.New(rand.NewPCG(1, 2))
	numbers := make([]string, 4096)
	for i := range numbers {
		numbers[i] = rates[rng.IntN(len(rates))].Prefix + strconv.Itoa(1000000+rng.IntN(8999999))
	}
	const priced = 2_000_000
	start = time.Now()
	var units int64
	for i := 0; i < priced; i++ {
		r, err := deck.Price(numbers[i&4095], int64(i%600_000))
		if err == nil {
			units += r.Amount.Units
		}
	}
	el := time.Since(start)
	fmt.Fprintf(tw, "rating: price a CDR\t%.2fM CDRs/s\t%d CDRs on %d prefixes (checksum %d)\n", priced/el.Seconds()/1e6, priced, deck.Len(), units%1000)
	return benchRatingExtra(tw, deck)
}

// benchCollector builds an event log in kfake (a signalling-only capture
// through the probe, plus the RTP stream reports a probe would publish for
// the answered calls), then times the collector alone draining it into
// chDB: CDRs, rated CDRs, media reports and rollups stored, offsets
// committed. With calls spread over 24 hours this is DESIGN.md's "day".
func benchCollector(tw io.Writer, e *env, dir string, calls int, servers prodBench) error {
	sig := filepath.Join(dir, "signalling.pcap")
	cps := float64(calls) / 86400
	if err := generate(e, sig, synth.Options{Calls: calls, Seed: 2, NoRTP: true, CPS: cps}); err != nil {
		return err
	}
	truth, err := synth.ReadTruth(sig)
	if err != nil {
		return err
	}
	if err := benchDay(tw, e, config.Default(), filepath.Join(dir, "data"), sig, truth, "kfake -> chDB"); err != nil {
		return err
	}
	if servers.brokers == "" && servers.clickhouse == "" {
		return nil
	}
	cfg, label, err := servers.config()
	if err != nil {
		return err
	}
	tw.(interface{ Flush() error }).Flush()
	return benchDay(tw, e, cfg, filepath.Join(dir, "data-servers"), sig, truth, label)
}

// benchDay publishes the capture and the synthetic stream reports, then
// times the collector alone draining them: CDRs, rated CDRs, media reports
// and rollups stored, offsets committed.
func benchDay(tw io.Writer, e *env, cfg *config.Config, data, sig string, truth *synth.Truth, label string) error {
	ctx := context.Background()
	s, err := openStack(ctx, cfg, data, true, e.log)
	if err != nil {
		return err
	}
	defer s.Close()

	start := time.Now()
	prod := s.newProducer()
	p, err := probe.New(probe.ProbeID(cfg.ProbeID))
	if err != nil {
		return err
	}
	if err := probe.ReadFile(ctx, sig, p, prod, nil); err != nil {
		prod.Close(ctx)
		return err
	}
	if err := synth.StreamReports(truth, 10*time.Second, cfg.ProbeID, prod.RTPReport); err != nil {
		prod.Close(ctx)
		return err
	}
	if err := prod.Close(ctx); err != nil {
		return err
	}
	published := time.Since(start)
	events := prod.Sent()

	col, cons, pending, err := s.drainer(ctx)
	if err != nil {
		return err
	}
	defer cons.Close()
	start = time.Now()
	if err := col.Drain(ctx, pending, p.Stats().LastUS); err != nil {
		return err
	}
	collected := time.Since(start)
	st := col.Stats()
	if got := st.Consumed.Load(); got != events {
		return fmt.Errorf("collector consumed %d of %d events", got, events)
	}
	fmt.Fprintf(tw, "collector: %s, CDRs and rollups\t%.0f events/s\t%d events (%d SIP, %d RTP reports) of %d calls over 24h, %d CDRs, in %s\n",
		label, float64(events)/collected.Seconds(), events, p.Stats().SIPMessages, events-int64(p.Stats().SIPMessages),
		len(truth.Calls), st.StoredCDRs.Load(), collected.Round(time.Millisecond))
	fmt.Fprintf(tw, "collector: the day end to end (%s)\t%s\tcapture through the probe into Kafka %s, then the collector %s\n",
		label, (published + collected).Round(100*time.Millisecond), published.Round(time.Millisecond), collected.Round(time.Millisecond))
	return nil
}

type ioDiscard struct{}

func (ioDiscard) Write(p []byte) (int, error) { return len(p), nil }

// benchKPI generates CDRs inside chDB (INSERT ... SELECT FROM numbers, no
// Go round trip), recomputes the rollups and times the KPI queries the
// dashboards and `trunkscope kpi` run.
func benchKPI(tw io.Writer, e *env, dir string, rows int) error {
	ctx := context.Background()
	st, err := store.OpenEmbedded(filepath.Join(dir, "kpi"))
	if err != nil {
		return err
	}
	defer st.Close()
	const db = "trunkscope"
	if _, err := schema.Migrate(ctx, st, db); err != nil {
		return err
	}
	const span = 30 * 86400
	from := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	start := time.Now()
	q := fmt.Sprintf(`INSERT INTO %[1]s.cdrs (call_id, leg, trunk, direction, probe_id, caller, callee, src_ip, dst_ip,
		start_time, start_us, ring_us, answer_us, end_us, pdd_ms, duration_ms, outcome, final_code, hangup_by, flags, version,
		caller_e164, callee_e164, country)
	SELECT concat('bench-', toString(number)) AS call_id, 0, concat('carrier-', toString(number %% 20)), 'outbound', 'bench',
		'31205550000', concat('44', toString(7000000000 + number %% 1000000)), '10.0.0.10', '198.51.100.10',
		toDateTime(%[2]d + intDiv(number * %[3]d, %[4]d), 'UTC') AS st, toUInt64(st) * 1000000,
		if(number %% 10 < 8, toUInt64(st) * 1000000 + 2000000, 0),
		if(number %% 10 < 5, toUInt64(st) * 1000000 + 6000000, 0),
		toUInt64(st) * 1000000 + 60000000, if(number %% 10 < 8, 2000 + number %% 3000, -1),
		if(number %% 10 < 5, 54000 + number %% 60000, 0),
		multiIf(number %% 10 < 5, 'answered', number %% 10 = 5, 'busy', number %% 10 = 6, 'no_answer', number %% 10 = 7, 'cancelled', number %% 10 = 8, 'rejected', 'timeout'),
		multiIf(number %% 10 < 5, 200, number %% 10 = 5, 486, number %% 10 = 6, 480, number %% 10 = 7, 487, number %% 10 = 8, 503, 0),
		if(number %% 10 < 5, 'caller', ''), '', 1, '31205550000', concat('44', toString(7000000000 + number %% 1000000)), '44'
	FROM numbers(%[4]d)`, db, from.Unix(), span, rows)
	if err := st.Exec(ctx, q); err != nil {
		return fmt.Errorf("generating CDRs: %w", err)
	}
	gen := time.Since(start)
	to := from.Add(span * time.Second)
	start = time.Now()
	if err := collector.RecomputeRollups(ctx, st, db, from, to); err != nil {
		return err
	}
	roll := time.Since(start)
	fmt.Fprintf(tw, "kpi: %d CDRs generated in chDB\t%s\trollups recomputed in %s\n", rows, gen.Round(time.Millisecond), roll.Round(time.Millisecond))
	for _, c := range []struct {
		by   collector.Grouping
		step time.Duration
	}{
		{collector.ByTrunk, 0}, {collector.ByTrunk, time.Hour}, {collector.ByDestination, 24 * time.Hour},
		{collector.ByTrunkDestination, 0},
	} {
		start := time.Now()
		ks, err := collector.KPIs(ctx, st, db, collector.KPIQuery{From: from, To: to, Step: c.step, By: c.by})
		if err != nil {
			return err
		}
		var attempts int64
		for _, k := range ks {
			attempts += k.Attempts
		}
		fmt.Fprintf(tw, "kpi: query by %s, step %s, 30 days\t%s\t%d rows, %d attempts summed (target <= 300 ms)\n",
			c.by, c.step, time.Since(start).Round(time.Millisecond), len(ks), attempts)
	}
	return benchDashboards(ctx, tw, st, db, from, to)
}
