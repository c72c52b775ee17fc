package main

import (
	"context"
	"errors"
	"os"
	"os/signal"
	"syscall"
	"time"
)

func cmdRun(e *env, args []string) error {
	fs := flagSet(e, "run", "[flags]", `Runs trunkscope as a service on the embedded defaults (or the servers the
configuration names): the Kafka broker, the ClickHouse store, and the
collector consuming SIP events into CDRs and rated CDRs. Probes publish to the
broker address it logs. Stops cleanly on SIGINT or SIGTERM: what was consumed
is stored and committed first.`)
	var c common
	c.register(fs)
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
	cfg := s.cfg
	defer s.Close()
	col, cons, err := s.newCollector()
	if err != nil {
		return err
	}
	defer cons.Close()
	e.log.Info("trunkscope running", "config", cfg.Source, "data", c.data, "brokers", s.brokers,
		"store", s.st.Info().Engine+" "+s.st.Info().Version, "topic", cfg.Kafka.Topics.SIP)
	done := make(chan struct{})
	go every(*statsEvery, done, func() {
		st := col.Stats()
		e.log.Info("collector", "consumed", st.Consumed.Load(), "cdrs", st.StoredCDRs.Load(), "rated", st.Rated.Load())
	})
	err = col.Run(ctx)
	close(done)
	if errors.Is(err, context.Canceled) {
		e.log.Info("stopped", "consumed", col.Stats().Consumed.Load(), "cdrs", col.Stats().StoredCDRs.Load())
		return nil
	}
	return err
}
