package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/trunkscope/trunkscope/bus"
	"github.com/trunkscope/trunkscope/collector"
	"github.com/trunkscope/trunkscope/probe"
	"github.com/trunkscope/trunkscope/store"
)

// metrics collects what the roles of this process count and serves it in
// the Prometheus text format (version 0.0.4) on /metrics, with /healthz.
// Sources register a function that writes their samples; nothing is global.
type metrics struct {
	mu      sync.Mutex
	sources []func(w io.Writer)
}

func (m *metrics) add(f func(w io.Writer)) {
	m.mu.Lock()
	m.sources = append(m.sources, f)
	m.mu.Unlock()
}

func (m *metrics) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch r.URL.Path {
	case "/healthz":
		fmt.Fprintln(w, "ok")
	case "/metrics":
		w.Header().Set("Content-Type", "text/plain; version=0.0.4")
		m.mu.Lock()
		defer m.mu.Unlock()
		for _, f := range m.sources {
			f(w)
		}
	default:
		http.NotFound(w, r)
	}
}

// serve listens on addr until ctx ends.
func (m *metrics) serve(ctx context.Context, e *env, addr string) (func(), error) {
	return serveHTTP(ctx, e, addr, m)
}

// gaugeCounters are probe counters that are levels, not totals.
var gaugeCounters = map[string]bool{"tcp_flows": true, "frag_datagrams_open": true, "frag_bytes": true, "tcp_out_of_order_bytes": true}

// writeProbe writes a probe's counters, labelled with its input.
func writeProbe(w io.Writer, input string, st probe.Stats) {
	cs := append(st.Counters(), st.Drops()...)
	sort.Slice(cs, func(i, j int) bool { return cs[i].Name < cs[j].Name })
	seen := map[string]bool{}
	for _, c := range cs {
		if seen[c.Name] {
			continue
		}
		seen[c.Name] = true
		name, typ := "trunkscope_probe_"+c.Name+"_total", "counter"
		if gaugeCounters[c.Name] {
			name, typ = "trunkscope_probe_"+c.Name, "gauge"
		}
		fmt.Fprintf(w, "# TYPE %s %s\n%s{input=%q} %d\n", name, typ, name, input, c.Value)
	}
}

// sample writes one sample with its type line.
func sample(w io.Writer, name, typ string, v any) {
	fmt.Fprintf(w, "# TYPE %s %s\n%s %v\n", name, typ, name, v)
}

// collectorMetrics instruments a collector from outside: the events it
// fetches per topic (a wrapper of its source) and the latency of its batch
// inserts per table (a wrapper of its store), so collector.go stays free of
// metrics code.
type collectorMetrics struct {
	mu       sync.Mutex
	consumed map[string]int64 // by topic
	inserts  map[string]*histogram
}

func newCollectorMetrics() *collectorMetrics {
	return &collectorMetrics{consumed: map[string]int64{}, inserts: map[string]*histogram{}}
}

type countingSource struct {
	collector.Source
	m *collectorMetrics
}

func (c countingSource) Fetch(ctx context.Context) (bus.Record, error) {
	r, err := c.Source.Fetch(ctx)
	if err == nil {
		c.m.mu.Lock()
		c.m.consumed[r.Topic]++
		c.m.mu.Unlock()
	}
	return r, err
}

func (m *collectorMetrics) source(s collector.Source) collector.Source { return countingSource{s, m} }

type timedStore struct {
	store.Store
	m *collectorMetrics
}

func (t timedStore) Insert(ctx context.Context, table string, cols []string, rows [][]any) error {
	if len(rows) == 0 {
		return t.Store.Insert(ctx, table, cols, rows)
	}
	start := time.Now()
	err := t.Store.Insert(ctx, table, cols, rows)
	d := time.Since(start).Seconds()
	name := table[strings.LastIndexByte(table, '.')+1:]
	t.m.mu.Lock()
	h := t.m.inserts[name]
	if h == nil {
		h = &histogram{}
		t.m.inserts[name] = h
	}
	h.observe(d)
	t.m.mu.Unlock()
	return err
}

func (m *collectorMetrics) store(s store.Store) store.Store { return timedStore{s, m} }

// insertBuckets are the upper bounds (seconds) of the insert latency
// histogram: batch inserts take milliseconds to seconds.
var insertBuckets = []float64{0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10}

type histogram struct {
	counts [14]uint64 // per bucket, the last for +Inf
	sum    float64
	n      uint64
}

func (h *histogram) observe(v float64) {
	i := sort.SearchFloat64s(insertBuckets, v)
	h.counts[i]++
	h.sum += v
	h.n++
}

func (m *collectorMetrics) write(w io.Writer) {
	m.mu.Lock()
	defer m.mu.Unlock()
	topics := make([]string, 0, len(m.consumed))
	for t := range m.consumed {
		topics = append(topics, t)
	}
	sort.Strings(topics)
	fmt.Fprintf(w, "# HELP trunkscope_collector_topic_events_consumed_total Events fetched from Kafka, per topic.\n")
	fmt.Fprintf(w, "# TYPE trunkscope_collector_topic_events_consumed_total counter\n")
	for _, t := range topics {
		fmt.Fprintf(w, "trunkscope_collector_topic_events_consumed_total{topic=%q} %d\n", t, m.consumed[t])
	}
	tables := make([]string, 0, len(m.inserts))
	for t := range m.inserts {
		tables = append(tables, t)
	}
	sort.Strings(tables)
	const name = "trunkscope_store_insert_seconds"
	fmt.Fprintf(w, "# HELP %s Latency of the collector's batch inserts, per table.\n# TYPE %s histogram\n", name, name)
	for _, t := range tables {
		h := m.inserts[t]
		var cum uint64
		for i, le := range insertBuckets {
			cum += h.counts[i]
			fmt.Fprintf(w, "%s_bucket{table=%q,le=%q} %d\n", name, t, strconv.FormatFloat(le, 'g', -1, 64), cum)
		}
		fmt.Fprintf(w, "%s_bucket{table=%q,le=\"+Inf\"} %d\n%s_sum{table=%q} %g\n%s_count{table=%q} %d\n",
			name, t, h.n, name, t, h.sum, name, t, h.n)
	}
}

// lagMeter reads the consumer group's lag (end offset minus committed
// offset, per topic) from the broker, at most every few seconds however
// often /metrics and /readyz are asked.
type lagMeter struct {
	s       *stack
	mu      sync.Mutex
	at      time.Time
	byTopic map[string]int64
	err     error
}

func (l *lagMeter) read(ctx context.Context) (map[string]int64, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if time.Since(l.at) < 2*time.Second {
		return l.byTopic, l.err
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	lag := map[string]int64{}
	var err error
	for _, topic := range l.s.topics().All() {
		var ends map[int]int64
		if ends, err = bus.EndOffsets(ctx, l.s.brokers, topic); err != nil {
			break
		}
		parts := make([]int, 0, len(ends))
		for p := range ends {
			parts = append(parts, p)
		}
		var committed map[int]int64
		if committed, err = bus.CommittedOffsets(ctx, l.s.brokers, l.s.cfg.Kafka.Group, topic, parts); err != nil {
			break
		}
		lag[topic] = 0
		for p, end := range ends {
			lag[topic] += max(end-max(committed[p], 0), 0)
		}
	}
	l.at, l.byTopic, l.err = time.Now(), lag, err
	return lag, err
}

func (l *lagMeter) write(w io.Writer) {
	lag, err := l.read(context.Background())
	if err != nil {
		return // the broker is unreachable: /readyz says so; no stale figure
	}
	topics := make([]string, 0, len(lag))
	for t := range lag {
		topics = append(topics, t)
	}
	sort.Strings(topics)
	fmt.Fprintf(w, "# HELP trunkscope_collector_lag_events Events in Kafka not yet committed by the collector group, per topic.\n")
	fmt.Fprintf(w, "# TYPE trunkscope_collector_lag_events gauge\n")
	for _, t := range topics {
		fmt.Fprintf(w, "trunkscope_collector_lag_events{topic=%q} %d\n", t, lag[t])
	}
}

// writeCollector writes the collector's own counters.
func writeCollector(w io.Writer, col *collector.Collector) {
	st := col.Stats()
	sample(w, "trunkscope_collector_events_consumed_total", "counter", st.Consumed.Load())
	sample(w, "trunkscope_collector_events_undecodable_total", "counter", st.DecodeErrors.Load())
	sample(w, "trunkscope_collector_events_stored_total", "counter", st.StoredEvents.Load())
	sample(w, "trunkscope_collector_cdrs_stored_total", "counter", st.StoredCDRs.Load())
	sample(w, "trunkscope_collector_cdrs_rated_total", "counter", st.Rated.Load())
	sample(w, "trunkscope_collector_cdrs_unrated_total", "counter", st.Unrated.Load())
	sample(w, "trunkscope_collector_store_errors_total", "counter", st.FlushErrors.Load())
	down := 0
	if st.StoreDown.Load() {
		down = 1
	}
	sample(w, "trunkscope_collector_store_down", "gauge", down)
	fmt.Fprintf(w, "# HELP trunkscope_collector_drops_total Events the collector could not use, by reason.\n")
	fmt.Fprintf(w, "# TYPE trunkscope_collector_drops_total counter\n")
	fmt.Fprintf(w, "trunkscope_collector_drops_total{reason=\"undecodable_event\"} %d\n", st.DecodeErrors.Load())
	fmt.Fprintf(w, "trunkscope_collector_drops_total{reason=\"unparsable_rtcp\"} %d\n", st.RTCPParseErrors.Load())
	sample(w, "trunkscope_collector_open_dialogs", "gauge", st.OpenDialogs.Load())
	// Rating runs in the same store step as the CDR: the backlog is the
	// CDRs the tracker closed that are not yet stored and rated.
	sample(w, "trunkscope_collector_rating_backlog", "gauge", max(st.Built.Load()-st.StoredCDRs.Load(), 0))
}
