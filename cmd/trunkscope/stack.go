package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/trunkscope/trunkscope/bus"
	"github.com/trunkscope/trunkscope/collector"
	"github.com/trunkscope/trunkscope/config"
	"github.com/trunkscope/trunkscope/schema"
	"github.com/trunkscope/trunkscope/store"
	"github.com/trunkscope/trunkscope/store/chdb"
	"github.com/trunkscope/trunkscope/store/chserver"
)

// stack is the engines one process uses: a broker (embedded or external)
// and a store (embedded chDB or a ClickHouse server).
type stack struct {
	cfg     *config.Config
	dir     string
	lock    *os.File
	broker  *bus.Embedded
	brokers []string
	kafka   bus.Cluster // brokers with the configured security
	st      store.Store
	log     *slog.Logger
}

// openStack starts or connects to the engines. withBroker is false for
// commands that only read the store.
func openStack(ctx context.Context, cfg *config.Config, dir string, withBroker bool, log *slog.Logger) (_ *stack, err error) {
	s := &stack{cfg: cfg, dir: dir, log: log}
	defer func() {
		if err != nil {
			s.Close()
		}
	}()
	embBroker, embStore := cfg.Embedded()
	if (withBroker && embBroker) || embStore {
		if s.lock, err = lockDataDir(dir); err != nil {
			return nil, err
		}
	}
	if embStore {
		// Fail before starting anything else when the library is missing:
		// the message says how to install it.
		if _, err := chdb.LibPath(); err != nil {
			return nil, err
		}
		st, err := store.OpenEmbedded(filepath.Join(dir, "clickhouse"))
		if err != nil {
			return nil, err
		}
		s.st = st
	} else {
		o := chserver.Options{Addrs: cfg.ClickHouse.Addrs, User: cfg.ClickHouse.User, Password: cfg.ClickHouse.Password,
			Cluster: cfg.ClickHouse.Cluster, InsertQuorum: cfg.ClickHouse.InsertQuorum}
		if o.TLS, err = tlsConfig("clickhouse.tls", cfg.ClickHouse.TLS); err != nil {
			return nil, err
		}
		st, err := chserver.Open(ctx, o)
		if err != nil {
			return nil, err
		}
		s.st = st
	}
	if _, err := schema.Migrate(ctx, s.st, cfg.ClickHouse.Database); err != nil {
		return nil, err
	}
	if err := schema.ApplyRetention(ctx, s.st, cfg.ClickHouse.Database, cfg.ClickHouse.RetentionDays); errors.Is(err, schema.ErrNoTTL) {
		log.Warn("retention not enforced", "err", err)
	} else if err != nil {
		return nil, err
	}
	if !withBroker {
		return s, nil
	}
	if embBroker {
		b, err := bus.StartEmbedded(filepath.Join(dir, "kafka"), log)
		if err != nil {
			return nil, err
		}
		s.broker, s.brokers = b, b.Addrs()
	} else {
		s.brokers = cfg.Kafka.Brokers
	}
	if s.kafka, err = kafkaCluster(cfg, s.brokers, embBroker); err != nil {
		return nil, err
	}
	if err := s.kafka.Ping(ctx); err != nil {
		return nil, err
	}
	if err := s.kafka.EnsureTopics(ctx, s.topics().All(), cfg.Kafka.Partitions, cfg.Kafka.Replication); err != nil {
		return nil, err
	}
	return s, nil
}

func (s *stack) topics() bus.Topics {
	return bus.Topics{SIP: s.cfg.Kafka.Topics.SIP, RTP: s.cfg.Kafka.Topics.RTP, RTCP: s.cfg.Kafka.Topics.RTCP, Probe: s.cfg.Kafka.Topics.Probe}
}

func (s *stack) db() string { return s.cfg.ClickHouse.Database }

// newCollector builds a collector consuming the group's SIP topic; cm, when
// set, instruments its source and store for /metrics.
func (s *stack) newCollector(cm ...*collectorMetrics) (*collector.Collector, *bus.Consumer, error) {
	// Decks imported with `rate import` override the configured files.
	pricing, err := currentPricing(context.Background(), s.cfg, s.st, s.db())
	if err != nil {
		return nil, nil, err
	}
	cons, err := s.kafka.NewConsumer(s.cfg.Kafka.Group, s.topics().All())
	if err != nil {
		return nil, nil, err
	}
	cc := s.cfg.Collector
	o := collector.Options{
		Database:      s.db(),
		BatchSize:     cc.BatchSize,
		FlushInterval: cc.FlushInterval,
		Timers: collector.Timers{Invite: cc.InviteTimeout, Proceeding: cc.ProceedingTimeout,
			MaxDuration: cc.MaxDuration, Linger: cc.Linger},
		Logger:       s.log,
		BeforeStore:  failpoint("collector-before-store"),
		BeforeCommit: failpoint("collector-before-commit"),
	}
	o.CorrelationHeader = cc.CorrelationHeader
	var src collector.Source = cons
	st := s.st
	if len(cm) > 0 && cm[0] != nil {
		src, st = cm[0].source(cons), cm[0].store(st)
	}
	return collector.New(o, src, st, collector.NewTrunks(s.cfg.Trunks, s.cfg.Numbering), pricing), cons, nil
}

// drainer builds a collector and the offsets it must reach to have
// consumed everything published so far. Close the consumer after use.
func (s *stack) drainer(ctx context.Context) (*collector.Collector, *bus.Consumer, map[collector.TopicPartition]int64, error) {
	col, cons, err := s.newCollector()
	if err != nil {
		return nil, nil, nil, err
	}
	pending, err := s.pendingEnds(ctx)
	if err != nil {
		cons.Close()
		return nil, nil, nil, err
	}
	return col, cons, pending, nil
}

// pendingEnds returns, per partition of the event topics, the end offset
// the group has not yet committed up to: what a drain must still read.
func (s *stack) pendingEnds(ctx context.Context) (map[collector.TopicPartition]int64, error) {
	pending := map[collector.TopicPartition]int64{}
	for _, topic := range s.topics().All() {
		ends, err := s.kafka.EndOffsets(ctx, topic)
		if err != nil {
			return nil, err
		}
		parts := make([]int, 0, len(ends))
		for p := range ends {
			parts = append(parts, p)
		}
		committed, err := s.kafka.CommittedOffsets(ctx, s.cfg.Kafka.Group, topic, parts)
		if err != nil {
			return nil, err
		}
		for p, end := range ends {
			if committed[p] < end {
				pending[collector.TopicPartition{Topic: topic, Partition: p}] = end
			}
		}
	}
	return pending, nil
}

func (s *stack) Close() error {
	var errs []error
	if s.broker != nil {
		s.broker.Close()
	}
	if s.st != nil {
		errs = append(errs, s.st.Close())
	}
	if s.lock != nil {
		s.lock.Close()
	}
	return errors.Join(errs...)
}

// failpoint returns a hook that kills the process with SIGKILL when
// TRUNKSCOPE_FAILPOINT names it, as NAME or NAME:N (die on the Nth time the
// point is reached). The crash-recovery tests use it to die at exact points:
// collector-before-store (events published, batch not stored) and
// collector-before-commit (batch stored, offsets not committed). Unset, it
// does nothing.
func failpoint(name string) func() {
	spec := os.Getenv("TRUNKSCOPE_FAILPOINT")
	at := 1
	if n, count, ok := strings.Cut(spec, ":"); ok {
		spec = n
		if v, err := strconv.Atoi(count); err == nil && v > 0 {
			at = v
		}
	}
	if spec != name {
		return nil
	}
	hits := 0
	return func() {
		if hits++; hits < at {
			return
		}
		fmt.Fprintf(os.Stderr, "trunkscope: failpoint %s (hit %d): killing process\n", name, hits)
		p, _ := os.FindProcess(os.Getpid())
		p.Kill()
		select {}
	}
}
