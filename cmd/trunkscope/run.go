package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/trunkscope/trunkscope/bus"
	"github.com/trunkscope/trunkscope/collector"
	"github.com/trunkscope/trunkscope/collector/api"
)

func cmdRun(e *env, args []string) error {
	fs := flagSet(e, "run", "[flags]", `Runs trunkscope as a service on the embedded defaults (or the servers the
configuration names): the Kafka broker, the ClickHouse store, the collector
consuming SIP events into CDRs and rated CDRs, and the live inputs given
(--iface, --hep-listen). Other probes publish to the broker address it logs. Stops cleanly
on SIGINT or SIGTERM: what was consumed is stored and committed first.

Example: trunkscope run --iface eth1 --bpf "udp port 5060"`)
	var o serveFlags
	o.register(fs)
	if err := parse(fs, args); err != nil {
		return err
	}
	return serve(e, &o.common, o.inputs, true, o.statsEvery, o.metricsAddr, o.api)
}

func cmdProbe(e *env, args []string) error {
	if sub, ok := map[string]func(*env, []string) error{"options": cmdProbeOptions, "call": cmdProbeCall, "failover": cmdProbeFailover}[firstArg(args)]; ok {
		return sub(e, args[1:]) // active probe (probecmd.go)
	}
	fs := flagSet(e, "probe", "--iface IF | --hep-listen ADDR [flags]", `Runs the passive probe: captures SIP live (--iface) and receives HEP from
SBCs and SIP servers (--hep-listen), and publishes every message as an event
to the Kafka brokers of the configuration. With no brokers configured
(the embedded defaults) there is no other consumer, so it also runs the
embedded broker, store and collector, exactly like 'trunkscope run'.

Trunks with probe.targets in the configuration are also monitored actively
(OPTIONS on an interval, scheduled test calls), here and in 'trunkscope run'.
On demand: 'trunkscope probe options|call|failover --help'.

Examples:
  trunkscope probe --iface eth1 --bpf "udp port 5060 or tcp port 5060" --config prod.yml
  trunkscope probe --hep-listen 0.0.0.0:9060 --hep-auth-key s3cret --config prod.yml
  trunkscope probe options --target sip:198.51.100.10:5060 --count 5
  trunkscope probe call --trunk carrier-a --to 31201234567 --duration 10s --config prod.yml`)
	var o serveFlags
	o.register(fs)
	pcap := fs.String("pcap", "", "publish this capture file (pcap, pcapng) to the configured Kafka and exit: the production path without a live tap")
	realtime := fs.Bool("realtime", false, "with --pcap: at the recorded speed")
	if err := parse(fs, args); err != nil {
		return err
	}
	if *pcap != "" {
		return probeCapture(e, &o.common, *pcap, *realtime)
	}
	if !o.inputs.any() && !hasActiveTargets(o.config) {
		return usagef("no input: give --iface and/or --hep-listen, or --pcap FILE (or configure trunks' probe.targets)")
	}
	return serve(e, &o.common, o.inputs, false, o.statsEvery, o.metricsAddr, o.api)
}

// serveFlags are the flags of the long-running roles.
type serveFlags struct {
	common
	inputs
	statsEvery  time.Duration
	metricsAddr string
	api         apiFlags
}

func (o *serveFlags) register(fs *flag.FlagSet) {
	o.common.register(fs)
	o.inputs.register(fs)
	fs.DurationVar(&o.statsEvery, "stats-interval", 30*time.Second, "how often to log throughput")
	fs.StringVar(&o.metricsAddr, "metrics-listen", "", "serve Prometheus metrics on this address (/metrics, /healthz), e.g. 127.0.0.1:9460")
	o.api.register(fs)
}

// serve runs inputs and, with withCollector or on the embedded broker, the
// collector, until SIGINT/SIGTERM.
func serve(e *env, c *common, in inputs, withCollector bool, statsEvery time.Duration, metricsAddr string, af apiFlags) error {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	s, err := c.open(ctx, e, true)
	if err != nil {
		return err
	}
	defer s.Close()
	cfg := s.cfg
	if s.broker != nil {
		withCollector = true // nobody else can consume an embedded broker
	}
	var col *collector.Collector
	cm := newCollectorMetrics()
	if withCollector {
		var cons *bus.Consumer
		if col, cons, err = s.newCollector(cm); err != nil {
			return err
		}
		defer cons.Close()
	}
	m := &metrics{}
	lag := &lagMeter{s: s}
	if col != nil {
		m.add(func(w io.Writer) { writeCollector(w, col) })
		m.add(cm.write)
		m.add(lag.write)
	}
	var waitInputs func() error
	if in.any() {
		prod := s.newProducer()
		defer prod.Close(context.WithoutCancel(ctx))
		m.add(func(w io.Writer) { sample(w, "trunkscope_probe_events_published_total", "counter", prod.Sent()) })
		if waitInputs, err = startInputs(ctx, e, cfg.ProbeID, in, prod, m); err != nil {
			return err
		}
	}
	waitActive, err := startActive(ctx, e, s, m) // scheduled OPTIONS and test calls (probecmd.go)
	if err != nil {
		return err
	}
	defer waitActive()
	if metricsAddr != "" {
		stopMetrics, err := m.serve(ctx, e, metricsAddr)
		if err != nil {
			return err
		}
		defer stopMetrics()
	}
	stopAPI, err := serveAPI(e, s, af, api.Options{Store: s.st, Database: s.db(), Metrics: m, Logger: e.log,
		Ready: readyChecks(s, col, lag, af.maxLag)})
	if err != nil {
		return err
	}
	defer stopAPI()
	e.log.Info("trunkscope running", "config", cfg.Source, "data", c.data, "brokers", s.brokers,
		"store", s.st.Info().Engine+" "+s.st.Info().Version, "topic", cfg.Kafka.Topics.SIP, "collector", withCollector)
	done := make(chan struct{})
	defer close(done)
	defer startServiceAlerts(ctx, s, e, c.data)()
	if col != nil {
		go every(statsEvery, done, func() {
			st := col.Stats()
			e.log.Info("collector", "consumed", st.Consumed.Load(), "cdrs", st.StoredCDRs.Load(), "rated", st.Rated.Load())
		})
		err = col.Run(ctx)
		if errors.Is(err, context.Canceled) {
			err = nil
		}
		stop() // a collector failure stops the inputs too
	} else {
		<-ctx.Done()
	}
	if waitInputs != nil {
		if ierr := waitInputs(); ierr != nil && err == nil {
			err = ierr
		}
	}
	if err != nil {
		return fmt.Errorf("stopped: %w", err)
	}
	if col != nil {
		e.log.Info("stopped", "consumed", col.Stats().Consumed.Load(), "cdrs", col.Stats().StoredCDRs.Load())
	} else {
		e.log.Info("stopped")
	}
	return nil
}
