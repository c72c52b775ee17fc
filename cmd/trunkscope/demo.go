package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"github.com/trunkscope/trunkscope/config"
	"github.com/trunkscope/trunkscope/probe/synth"
)

func cmdDemo(e *env, args []string) error {
	fs := flagSet(e, "demo", "[flags]", `Generates a realistic capture (see 'trunkscope gen'), then pushes it through
probe -> Kafka -> collector -> ClickHouse -> rating on the embedded engines and
prints the per-trunk table. No server needs to be installed or started.
Run it twice: the table stays the same (delivery is at least once, storage
exactly once).`)
	var c common
	c.register(fs)
	fs.Lookup("data").DefValue = filepath.Join(defaultDataDir(), "demo")
	fs.Set("data", filepath.Join(defaultDataDir(), "demo"))
	calls := fs.Int("calls", 200, "number of calls to generate")
	seed := fs.Int64("seed", 1, "random seed")
	if err := parse(fs, args); err != nil {
		return err
	}
	cfg, err := config.Load(c.config)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(c.data, 0o755); err != nil {
		return err
	}
	capture := filepath.Join(c.data, fmt.Sprintf("demo-%d-calls-seed-%d.pcap", *calls, *seed))
	if err := generate(e, capture, synth.Options{Calls: *calls, Seed: *seed}); err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	start := time.Now()
	if err := replay(ctx, e, cfg, c.data, capture, false); err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "\ndemo done in %s. Explore: trunkscope cdr export --data %s | head\n", time.Since(start).Round(time.Millisecond), c.data)
	return nil
}
