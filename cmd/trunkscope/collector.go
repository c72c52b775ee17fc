package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"sync"
	"syscall"
	"time"

	"github.com/trunkscope/trunkscope/bus"
	"github.com/trunkscope/trunkscope/collector"
	"github.com/trunkscope/trunkscope/collector/api"
	"github.com/trunkscope/trunkscope/config"
	"github.com/trunkscope/trunkscope/probe"
	"github.com/trunkscope/trunkscope/probe/mediatrack"
	"github.com/trunkscope/trunkscope/probe/pcapfile"
)

func cmdCollector(e *env, args []string) error {
	fs := flagSet(e, "collector", "--config FILE [flags]", `Runs the collector role on its own: consumes the SIP, RTP and RTCP events the
probes publish to the configured Kafka brokers, as a member of the consumer
group kafka.group, and stores CDRs, rated CDRs and KPI rollups in the
configured ClickHouse (a server, or a cluster with clickhouse.cluster set).
Run several with the same configuration to share the partitions: a collector
that stops or dies hands its partitions to the others, which resume from the
committed offsets (nothing lost, nothing counted twice).

HTTP on --listen: /healthz (the process runs), /readyz (Kafka and ClickHouse
answer and stores succeed; 503 otherwise), /metrics (Prometheus). The HTTP
API (CDRs, KPIs, call ladders and pcaps; see the README) on --api-listen.
Stops cleanly on SIGINT or SIGTERM: what was consumed is stored and committed.

Example: trunkscope collector --config /etc/trunkscope/trunkscope.yml --listen :9464`)
	var c common
	c.register(fs)
	listen := fs.String("listen", "127.0.0.1:9464", "serve /healthz, /readyz and /metrics on this address (\"\" for none)")
	var af apiFlags
	af.register(fs)
	statsEvery := fs.Duration("stats-interval", 30*time.Second, "how often to log throughput")
	if err := parse(fs, args); err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	s, err := c.open(ctx, e, true)
	if err != nil {
		return err
	}
	defer s.Close()
	if s.broker != nil {
		// An embedded broker lives in this process: no probe can publish
		// to it. 'run' (or 'probe' without brokers) is the one-process form.
		return usagef("no kafka.brokers in the configuration (%s): the collector role consumes from external Kafka; 'trunkscope run' runs everything in one process", s.cfg.Source)
	}
	cm := newCollectorMetrics()
	col, cons, err := s.newCollector(cm)
	if err != nil {
		return err
	}
	defer cons.Close()

	m := &metrics{}
	lag := &lagMeter{s: s}
	m.add(func(w io.Writer) { writeCollector(w, col) })
	m.add(cm.write)
	m.add(lag.write)
	m.add(func(w io.Writer) { sample(w, "trunkscope_collector_lag", "gauge", cons.Lag()) })
	ready := &readiness{}
	if *listen != "" {
		mux := http.NewServeMux()
		mux.Handle("/metrics", m)
		mux.Handle("/healthz", m)
		mux.Handle("/readyz", ready)
		stopHTTP, err := serveHTTP(ctx, e, *listen, mux)
		if err != nil {
			return err
		}
		defer stopHTTP()
	}
	// The HTTP API (CDR queries and exports, KPIs, ladders, pcaps) on its
	// own listener, as in 'run'.
	stopAPI, err := serveAPI(e, s, af, api.Options{Store: s.st, Database: s.db(), Metrics: m, Logger: e.log,
		Ready: readyChecks(s, col, lag, af.maxLag)})
	if err != nil {
		return err
	}
	defer stopAPI()
	done := make(chan struct{})
	defer close(done)
	check := func() { ready.set(s.ready(ctx, col)) }
	check()
	go every(5*time.Second, done, check)
	go every(*statsEvery, done, func() {
		st := col.Stats()
		e.log.Info("collector", "consumed", st.Consumed.Load(), "cdrs", st.StoredCDRs.Load(), "rated", st.Rated.Load(), "lag", cons.Lag())
	})
	e.log.Info("collector running", "config", s.cfg.Source, "brokers", s.brokers, "group", s.cfg.Kafka.Group,
		"store", s.st.Info().Engine+" "+s.st.Info().Version, "cluster", s.st.Info().Cluster, "listen", *listen)
	err = col.Run(ctx)
	if errors.Is(err, context.Canceled) {
		err = nil
	}
	if err != nil {
		return fmt.Errorf("stopped: %w", err)
	}
	e.log.Info("stopped", "consumed", col.Stats().Consumed.Load(), "cdrs", col.Stats().StoredCDRs.Load())
	return nil
}

// ready checks what the collector needs: the brokers and the store answer,
// and stores are not failing.
func (s *stack) ready(ctx context.Context, col *collector.Collector) error {
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	if err := s.kafka.Ping(ctx); err != nil {
		return err
	}
	if _, err := s.st.Query(ctx, "SELECT 1"); err != nil {
		return fmt.Errorf("clickhouse: %w", err)
	}
	if col.Stats().StoreDown.Load() {
		return errors.New("stores are failing; retrying")
	}
	return nil
}

// readiness answers /readyz from the last check: 200 "ready", or 503 with
// the reason (also before the first check).
type readiness struct {
	mu      sync.Mutex
	checked bool
	err     error
}

func (r *readiness) set(err error) {
	r.mu.Lock()
	r.checked, r.err = true, err
	r.mu.Unlock()
}

func (r *readiness) ServeHTTP(w http.ResponseWriter, _ *http.Request) {
	r.mu.Lock()
	checked, err := r.checked, r.err
	r.mu.Unlock()
	switch {
	case !checked:
		http.Error(w, "starting", http.StatusServiceUnavailable)
	case err != nil:
		http.Error(w, "not ready: "+err.Error(), http.StatusServiceUnavailable)
	default:
		fmt.Fprintln(w, "ready")
	}
}

// serveHTTP serves h on addr until ctx ends or the returned stop is called.
func serveHTTP(ctx context.Context, e *env, addr string, h http.Handler) (func(), error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("listener on %s: %w", addr, err)
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 5 * time.Second}
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			e.log.Error("http server", "err", err)
		}
	}()
	e.log.Info("serving http", "addr", ln.Addr().String())
	return func() {
		sctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		srv.Shutdown(sctx)
		<-done
	}, nil
}

// probeCapture publishes a capture file's events (SIP, RTP stream reports,
// RTCP) to the configured external Kafka and returns once every event is
// acknowledged: a probe without a live tap, for the production path.
func probeCapture(e *env, c *common, path string, realtime bool) error {
	r, err := pcapfile.Open(path)
	if err != nil {
		return err
	}
	r.Close()
	cfg, err := config.Load(c.config)
	if err != nil {
		return err
	}
	if len(cfg.Kafka.Brokers) == 0 {
		return usagef("--pcap publishes to kafka.brokers, and the configuration (%s) names none: 'trunkscope replay FILE' runs a capture through the embedded pipeline", cfg.Source)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	k, err := kafkaCluster(cfg, cfg.Kafka.Brokers, false)
	if err != nil {
		return err
	}
	if err := k.Ping(ctx); err != nil {
		return err
	}
	topics := bus.Topics{SIP: cfg.Kafka.Topics.SIP, RTP: cfg.Kafka.Topics.RTP, RTCP: cfg.Kafka.Topics.RTCP}
	if err := k.EnsureTopics(ctx, topics.All(), cfg.Kafka.Partitions, cfg.Kafka.Replication); err != nil {
		return err
	}
	start := time.Now()
	prod := k.NewProducer(topics, producerOptions(cfg))
	tracker, err := mediatrack.New(prod, mediatrack.ProbeID(cfg.ProbeID))
	if err != nil {
		return err
	}
	p, err := probe.New(probe.ProbeID(cfg.ProbeID), probe.Media(tracker))
	if err != nil {
		return err
	}
	if realtime {
		err = readPaced(ctx, path, p, prod, func(int64, int64) {})
	} else {
		err = probe.ReadFile(ctx, path, p, prod, nil)
	}
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
	fmt.Fprintf(e.stdout, "%s: %d packets, %d SIP messages, %d events published to %v in %s\n",
		path, ps.Packets, ps.SIPMessages, prod.Sent(), cfg.Kafka.Brokers, time.Since(start).Round(time.Millisecond))
	printDrops(e.stdout, ps)
	return nil
}
