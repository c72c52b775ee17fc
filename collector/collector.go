// Package collector turns SIP events into call legs and CDRs, rates them and
// stores them, committing Kafka offsets only once their effects are stored.
//
// Delivery is at least once; the stored effect is exactly once because every
// row written is keyed by what it describes (event ID, Call-ID and leg) and
// readers take the latest version with FINAL: a redelivered event, a
// replayed capture or a crash between store and commit rewrites the same
// rows instead of adding new ones.
package collector

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/trunkscope/trunkscope/bus"
	"github.com/trunkscope/trunkscope/event"
	"github.com/trunkscope/trunkscope/probe/rtcp"
	"github.com/trunkscope/trunkscope/schema"
	"github.com/trunkscope/trunkscope/store"
)

// Source is where the collector reads events: a consumer-group member.
type Source interface {
	Fetch(ctx context.Context) (bus.Record, error)
	CommitOffset(ctx context.Context, topic string, partition int, next int64) error
}

// Options configure a Collector.
type Options struct {
	Database      string
	BatchSize     int           // events per store batch
	FlushInterval time.Duration // longest a consumed event waits to be stored
	Timers        Timers
	// CorrelationHeader names the header tying an SBC's legs (e.g. X-CID).
	CorrelationHeader string
	// BeforeStore, when set, runs before every batch is written; tests use
	// it to crash the process between publish and store.
	BeforeStore func()
	// BeforeCommit, when set, runs after a batch is stored and before its
	// offsets are committed (crash tests).
	BeforeCommit func()
	Logger       *slog.Logger
	// DrainAttempts bounds a drain's store retries (default 8, about 90 s).
	DrainAttempts int
}

// Collector is one consumer-group member's CDR pipeline.
type Collector struct {
	o       Options
	src     Source
	st      store.Store
	pricing *Pricing
	tracker *Tracker
	log     *slog.Logger

	pending     [][]any                  // sip_events rows
	pendingRTP  [][]any                  // rtp_reports rows
	last        map[TopicPartition]int64 // last offset consumed
	pendingRTCP [][]any                  // rtcp_reports rows
	probe       probeRows                // active-probe results (probe.go)
	rtcp        rtcp.Compound
	sipTopic    string
	mediaTopics map[string]bool // topics of stateless media events
	// media is the span of call starts that the pending final RTP reports
	// may belong to: their rollups change once the reports are stored.
	media    span
	lastRoll time.Time
	version  uint64
	draining bool
	stats    Stats
}

// Stats are the collector's counters, safe to read while it runs.
type Stats struct {
	Consumed, DecodeErrors, StoredEvents, StoredCDRs, StoredRTPReports, Rated, Unrated, FlushErrors atomic.Int64
	RTCPParseErrors                                                                                 atomic.Int64
	// OpenDialogs and Built (CDRs closed by the tracker, stored or not) are
	// set at every batch cut, for /metrics.
	OpenDialogs, Built atomic.Int64
	// StoreDown is true while stores fail and the collector retries.
	StoreDown atomic.Bool
}

// New returns a collector reading src and writing st.
func New(o Options, src Source, st store.Store, trunks *Trunks, pricing *Pricing) *Collector {
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Database == "" {
		o.Database = schema.DefaultDatabase
	}
	if o.DrainAttempts <= 0 {
		o.DrainAttempts = 8
	}
	return &Collector{
		o: o, src: src, st: st, pricing: pricing,
		tracker:     NewTracker(o.Timers, trunks, o.CorrelationHeader),
		last:        map[TopicPartition]int64{},
		mediaTopics: map[string]bool{},
		log:         o.Logger.With("component", "collector"),
	}
}

// Stats returns the live counters.
func (c *Collector) Stats() *Stats { return &c.stats }

// Tracker exposes the dialog counters (read them only after Run or Drain
// returned).
func (c *Collector) Tracker() *Tracker { return c.tracker }

type fetched struct {
	rec bus.Record
	err error
}

// fetch runs the source in its own goroutine so the loop can flush on time
// while no events arrive.
func (c *Collector) fetch(ctx context.Context, wg *sync.WaitGroup) <-chan fetched {
	ch := make(chan fetched, 1024)
	wg.Add(1)
	go func() {
		defer wg.Done()
		defer close(ch)
		for {
			rec, err := c.src.Fetch(ctx)
			select {
			case ch <- fetched{rec, err}:
			case <-ctx.Done():
				return
			}
			if err != nil {
				return
			}
		}
	}()
	return ch
}

// Run consumes until ctx is cancelled, then stores what it has and commits.
// Live, idle partitions' clocks follow wall time so calls still time out.
func (c *Collector) Run(ctx context.Context) error {
	return c.loop(ctx, nil, 0)
}

// TopicPartition names one partition of one topic.
type TopicPartition struct {
	Topic     string
	Partition int
}

// Drain consumes until every partition has been read up to ends (the
// offsets after the last event of a finished input, e.g. a replayed
// capture), closes every dialog still open as the input ended at inputEndUS
// (its last packet's time; 0 if unknown), stores everything and commits.
func (c *Collector) Drain(ctx context.Context, ends map[TopicPartition]int64, inputEndUS int64) error {
	if ends == nil {
		ends = map[TopicPartition]int64{}
	}
	return c.loop(ctx, ends, inputEndUS)
}

func (c *Collector) loop(ctx context.Context, ends map[TopicPartition]int64, inputEndUS int64) error {
	c.draining = ends != nil
	fctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	defer wg.Wait()
	defer cancel()
	events := c.fetch(fctx, &wg)
	tick := time.NewTicker(c.o.FlushInterval)
	defer tick.Stop()

	// The storer writes batches while the loop consumes the next one: one
	// batch in flight, so memory stays bounded and a store that stalls
	// (an outage) stops consumption instead of buffering without end.
	batches := make(chan *batch)
	stored := make(chan error, 1)
	var stopping atomic.Bool
	go func() { stored <- c.storer(context.WithoutCancel(ctx), batches, &stopping) }()
	finish := func(last *batch) error {
		var err error
		select {
		case batches <- last:
		case err = <-stored:
			return err
		}
		close(batches)
		return <-stored
	}
	send := func(b *batch) error {
		select {
		case batches <- b:
			return nil
		case err := <-stored:
			if err == nil {
				err = errors.New("collector: storer stopped")
			}
			return err
		}
	}

	lastEvent := time.Now()
	var ev event.SIP
	for {
		if ends != nil && c.reached(ends) {
			c.tracker.CloseAll(inputEndUS)
			return finish(c.cut(true))
		}
		select {
		case <-ctx.Done():
			stopping.Store(true) // one last attempt, no retries
			if err := finish(c.cut(true)); err != nil {
				return err
			}
			return ctx.Err()
		case <-tick.C:
			if ends == nil {
				if idle := time.Since(lastEvent); idle >= c.o.FlushInterval {
					c.tracker.AdvanceIdle(c.o.FlushInterval)
				}
			}
			if err := send(c.cut(true)); err != nil {
				return err
			}
		case f, ok := <-events:
			if !ok {
				stopping.Store(true)
				return finish(c.cut(true))
			}
			if f.err != nil {
				stopping.Store(true)
				if ferr := finish(c.cut(true)); ferr != nil {
					return errors.Join(f.err, ferr)
				}
				if ctx.Err() != nil {
					return ctx.Err()
				}
				return fmt.Errorf("collector: reading events: %w", f.err)
			}
			lastEvent = time.Now()
			c.consume(f.rec, &ev)
			if len(c.pending)+len(c.pendingRTP)+len(c.pendingRTCP) >= c.o.BatchSize {
				if err := send(c.cut(false)); err != nil {
					return err
				}
			}
		}
	}
}

// batch is what one store round writes: rows cut from the loop, the CDRs
// closed since the last cut, and the offsets the loop may commit once
// these (and all earlier batches) are stored.
type batch struct {
	events, rtp, rtcp [][]any
	cdrs              []CDR
	media             span // call starts the batch's final RTP reports may belong to
	commits           map[TopicPartition]int64
	force             bool // roll up and commit now, whatever the interval
	probe             probeRows
}

// cut takes the loop's pending rows and commit points into a batch. The
// commit points are the tracker's at this instant: no open call's first
// event is passed.
func (c *Collector) cut(force bool) *batch {
	b := &batch{events: c.pending, rtp: c.pendingRTP, rtcp: c.pendingRTCP, cdrs: c.tracker.TakeCDRs(), force: force,
		media: c.media, commits: map[TopicPartition]int64{}, probe: c.probe.take()}
	c.pending, c.pendingRTP, c.pendingRTCP, c.media = nil, nil, nil, span{}
	c.stats.OpenDialogs.Store(c.tracker.Counts.Opened - c.tracker.Counts.Closed)
	c.stats.Built.Add(int64(len(b.cdrs)))
	for _, p := range c.tracker.Partitions() {
		if next := c.tracker.CommitPoint(p); next >= 0 && c.sipTopic != "" {
			b.commits[TopicPartition{c.sipTopic, p}] = next
		}
	}
	for tp, last := range c.last {
		if c.mediaTopics[tp.Topic] {
			b.commits[tp] = last + 1 // media events hold no state: stored is done
		}
	}
	return b
}

// storer writes batches in order until in is closed.
func (c *Collector) storer(ctx context.Context, in <-chan *batch, stopping *atomic.Bool) error {
	st := &storeState{commits: map[TopicPartition]int64{}}
	for b := range in {
		if err := c.storeRetrying(ctx, st, b, stopping); err != nil {
			for range in { // release the loop; nothing more is stored
			}
			return err
		}
	}
	return nil
}

// storeState is the storer's own: what is stored but not yet rolled up
// and committed.
type storeState struct {
	dirty    span
	commits  map[TopicPartition]int64
	lastRoll time.Time
	version  uint64
	stored   bool // b's rows are written; a retry starts at the rollup
}

func (c *Collector) reached(ends map[TopicPartition]int64) bool {
	for tp, end := range ends {
		if end <= 0 {
			continue
		}
		last, ok := c.last[tp]
		if !ok || last+1 < end {
			return false
		}
	}
	return true
}

func (c *Collector) consume(rec bus.Record, ev *event.SIP) {
	c.stats.Consumed.Add(1)
	tp := TopicPartition{rec.Topic, rec.Partition}
	if last, ok := c.last[tp]; !ok || rec.Offset > last {
		c.last[tp] = rec.Offset
	}
	if k, err := event.PeekKind(rec.Value); err == nil && k == event.KindRTPReport {
		c.consumeRTP(rec)
		return
	} else if err == nil && k == event.KindRTCP {
		c.consumeRTCP(rec)
		return
	} else if err == nil && isProbeKind(k) {
		c.consumeProbe(rec, k)
		return
	}
	c.sipTopic = rec.Topic
	if err := event.DecodeSIP(rec.Value, ev); err != nil {
		// A record we cannot read is counted and skipped: it must not stop
		// the partition. It stays in Kafka for a fixed build to re-read.
		c.stats.DecodeErrors.Add(1)
		c.log.Warn("undecodable event skipped", "partition", rec.Partition, "offset", rec.Offset, "err", err)
		pt := c.tracker.part(rec.Partition)
		pt.lastOffset = max(pt.lastOffset, rec.Offset)
		return
	}
	c.tracker.Apply(rec.Partition, rec.Offset, ev)
	c.pending = append(c.pending, sipRow(ev))
}

// consumeRTP queues an RTP stream report for storage. Reports are
// stateless for the collector: their partition commits as soon as they are
// stored.
func (c *Collector) consumeRTP(rec bus.Record) {
	var r event.RTPReport
	if err := event.DecodeRTPReport(rec.Value, &r); err != nil {
		c.stats.DecodeErrors.Add(1)
		c.log.Warn("undecodable RTP report skipped", "partition", rec.Partition, "offset", rec.Offset, "err", err)
		return
	}
	final := uint8(0)
	if r.Final {
		final = 1
	}
	ts := r.LastUS
	if ts == 0 {
		ts = r.TimeUS
	}
	if r.Final && len(r.CallID) > 0 && r.FirstUS > 0 {
		// The call's INVITE came before its first media packet, at most
		// the setup timers earlier (a 1xx refreshes Timer C; beyond that a
		// call is closed as timed out and carries no media).
		setup := max(c.o.Timers.Invite+c.o.Timers.Proceeding, 4*time.Minute)
		c.media.addStarts(r.FirstUS-setup.Microseconds(), r.FirstUS)
	}
	c.pendingRTP = append(c.pendingRTP, []any{hex.EncodeToString(r.ID[:]), usTime(ts), string(r.ProbeID), string(r.CallID),
		r.Src.Addr().String(), r.Src.Port(), r.Dst.Addr().String(), r.Dst.Port(), r.SSRC, r.PayloadType, string(r.Codec),
		r.ClockHz, final, r.Seq, uint64(r.FirstUS), uint64(r.LastUS), r.Packets, r.Expected, r.Lost, r.Duplicates,
		r.Reordered, r.JitterMeanUS, r.JitterMaxUS, r.MaxDeltaUS, r.LossBursts, r.BurstRx1000, r.LateFixed, r.LateAdaptive,
		r.MOSx1000, r.MOSFixedx1000, r.MOSAdaptivex1000, r.Direction})
	c.mediaTopics[rec.Topic] = true
}

// sipEventColumns are the columns of sipRow.
var sipEventColumns = append(append([]string{}, schema.SIPEventColumns...), schema.SIPEventRoutingColumns...)

func sipRow(ev *event.SIP) []any {
	return []any{hex.EncodeToString(ev.ID[:]), usTime(ev.TimeUS), uint64(ev.TimeUS), string(ev.ProbeID),
		string(ev.CallID), ev.Src.Addr().String(), ev.Src.Port(), ev.Dst.Addr().String(), ev.Dst.Port(),
		ev.Transport.String(), string(ev.Method), ev.Status, ev.CSeqNum, string(ev.Raw),
		string(ev.CorrelationID), ev.CaptureID, string(ev.Node), uint8(ev.Flags)}
}

func usTime(us int64) time.Time { return time.UnixMicro(us).UTC() }

// store writes one batch: the events, RTP reports, CDRs and their rated
// projections, then (at most once per flush interval, or when forced) the
// rollups of every minute the stored CDRs touched, then the offsets. A
// failed store is redone whole: every write is keyed, so writing a row
// twice is harmless.
func (c *Collector) store(ctx context.Context, st *storeState, b *batch) error {
	if !st.stored && (len(b.events) > 0 || len(b.rtp) > 0 || len(b.rtcp) > 0 || len(b.cdrs) > 0 || b.probe.n() > 0) {
		if c.o.BeforeStore != nil {
			c.o.BeforeStore()
		}
		db := c.o.Database
		start := time.Now()
		if err := c.st.Insert(ctx, db+".sip_events", sipEventColumns, b.events); err != nil {
			return fmt.Errorf("collector: storing %d events: %w", len(b.events), err)
		}
		if err := c.st.Insert(ctx, db+".rtp_reports", schema.RTPReportColumns, b.rtp); err != nil {
			return fmt.Errorf("collector: storing %d RTP reports: %w", len(b.rtp), err)
		}
		if err := c.st.Insert(ctx, db+".rtcp_reports", schema.RTCPColumns, b.rtcp); err != nil {
			return fmt.Errorf("collector: storing %d RTCP blocks: %w", len(b.rtcp), err)
		}
		if err := b.probe.store(ctx, c.st, db); err != nil {
			return err
		}
		rows := make([][]any, 0, len(b.cdrs))
		var rated [][]any
		var rs []Rated
		unrated := 0
		for i := range b.cdrs {
			rows = append(rows, b.cdrs[i].Row())
			var n int
			rs, n = c.pricing.Rate(&b.cdrs[i], rs[:0])
			for j := range rs {
				rated = append(rated, rs[j].Row())
			}
			unrated += n
		}
		// Rated CDRs before their CDRs: a rollup (this collector's or
		// another's) that sees a CDR then also sees its deck destination,
		// never the "+<country>" stand-in of an unrated leg.
		if err := c.st.Insert(ctx, db+".rated_cdrs", schema.RatedCDRColumns, rated); err != nil {
			return fmt.Errorf("collector: storing %d rated CDRs: %w", len(rated), err)
		}
		if err := c.st.Insert(ctx, db+".cdrs", schema.CDRColumns, rows); err != nil {
			return fmt.Errorf("collector: storing %d CDRs: %w", len(rows), err)
		}
		for i := range b.cdrs {
			st.dirty.add(&b.cdrs[i])
		}
		st.dirty.merge(b.media)
		c.stats.StoredEvents.Add(int64(len(b.events)))
		c.stats.StoredRTPReports.Add(int64(len(b.rtp)))
		c.stats.StoredCDRs.Add(int64(len(rows)))
		c.stats.Rated.Add(int64(len(rated) - unrated))
		c.stats.Unrated.Add(int64(unrated))
		c.log.Debug("batch stored", "events", len(b.events), "cdrs", len(rows), "rated", len(rated), "took", time.Since(start))
	}
	st.stored = true
	for tp, next := range b.commits {
		st.commits[tp] = next
	}
	// Rollups and commits run at most once per flush interval, over every
	// minute the batches since touched: recomputing a minute costs the
	// engine the same for one CDR as for thousands. Offsets are committed
	// only after the rollups of the CDRs they cover are written, so a crash
	// in between re-reads and recomputes them.
	if !b.force && time.Since(st.lastRoll) < c.o.FlushInterval {
		return nil
	}
	if err := rollup(ctx, c.st, c.o.Database, st.dirty, st.nextVersion()); err != nil {
		return err
	}
	st.dirty = span{}
	if len(st.commits) > 0 && c.o.BeforeCommit != nil {
		c.o.BeforeCommit()
	}
	for tp, next := range st.commits {
		if err := c.src.CommitOffset(ctx, tp.Topic, tp.Partition, next); err != nil {
			return err
		}
		delete(st.commits, tp)
	}
	st.lastRoll = time.Now()
	return nil
}

// nextVersion orders rollup rewrites: wall-clock nanoseconds, never going
// backwards within the process.
func (st *storeState) nextVersion() uint64 {
	v := uint64(time.Now().UnixNano())
	if v <= st.version {
		v = st.version + 1
	}
	st.version = v + 1 // a rollup writes at v and v+1
	return v
}

// storeRetrying stores a batch until it succeeds. While the store is down
// nothing more is consumed (the loop waits to hand over its next batch and
// Kafka holds the backlog) and no offset is committed, so nothing is lost;
// the wait grows from 1 s to 30 s. A drain (a replay someone waits for)
// gives up after Options.DrainAttempts and a stopping collector after one
// attempt: a store that stays down, or a statement it keeps refusing, is
// then an error the user sees rather than a silent hang.
func (c *Collector) storeRetrying(ctx context.Context, st *storeState, b *batch, stopping *atomic.Bool) error {
	st.stored = false
	wait := time.Second
	for attempt := 1; ; attempt++ {
		err := c.store(ctx, st, b)
		if err == nil {
			if attempt > 1 {
				c.log.Info("store reachable again; backlog flushed", "attempts", attempt)
			}
			c.stats.StoreDown.Store(false)
			return nil
		}
		if stopping.Load() || (c.draining && attempt >= c.o.DrainAttempts) {
			return err
		}
		c.stats.StoreDown.Store(true)
		c.stats.FlushErrors.Add(1)
		c.log.Warn("storing failed; retrying", "attempt", attempt, "in", wait, "events", len(b.events), "cdrs", len(b.cdrs), "err", err)
		select {
		case <-ctx.Done():
			return err
		case <-time.After(wait):
		}
		wait = min(2*wait, 30*time.Second)
	}
}
