package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net/netip"
	"os"
	"os/signal"
	"sort"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/emiago/sipgo/sip"

	"github.com/trunkscope/trunkscope/bus"
	"github.com/trunkscope/trunkscope/collector"
	"github.com/trunkscope/trunkscope/config"
	"github.com/trunkscope/trunkscope/event"
	"github.com/trunkscope/trunkscope/probe/active"
)

// quietSIP silences sipgo's process-wide default logger: its warnings are
// internal bookkeeping (connection reference counts), and its messages can
// quote whole requests, Authorization headers included, which must never
// reach a log.
func quietSIP() { sip.SetDefaultLogger(slog.New(slog.DiscardHandler)) }

// activeFlags are the target flags of `probe options` and `probe call`.
type activeFlags struct {
	common
	target, trunk, transport string
	from, to, userAgent      string
	source, caFile           string
	insecure                 bool
	timeout                  time.Duration
}

func (a *activeFlags) register(fs *flag.FlagSet) {
	a.common.register(fs)
	fs.StringVar(&a.target, "target", "", "target URI, e.g. sip:198.51.100.10:5060, sip:sbc.example.net;transport=tcp, sips:sbc.example.net:5061")
	fs.StringVar(&a.trunk, "trunk", "", "use this configured trunk's probe settings (first target, credentials, From/To, source)")
	fs.StringVar(&a.transport, "transport", "", "udp, tcp or tls (default: the URI's transport parameter, tls for sips:, else udp)")
	fs.StringVar(&a.from, "from", "", "From URI (default sip:trunkscope@<local address>)")
	fs.StringVar(&a.to, "to-uri", "", "To URI (default: the target URI)")
	fs.StringVar(&a.userAgent, "user-agent", "", "User-Agent header (default trunkscope, or probe.user_agent)")
	fs.StringVar(&a.source, "source", "", "local IP address to send from")
	fs.StringVar(&a.caFile, "ca-file", "", "verify TLS targets against the CAs in this PEM file")
	fs.BoolVar(&a.insecure, "insecure", false, "TLS: do not verify the target's certificate (labs with self-signed certificates only)")
}

// resolve builds the target from the flags over the configured trunk.
func (a *activeFlags) resolve() (*config.Config, *config.Trunk, active.Target, error) {
	cfg, err := config.Load(a.config)
	if err != nil {
		return nil, nil, active.Target{}, err
	}
	var t active.Target
	var tr *config.Trunk
	if a.trunk != "" {
		for i := range cfg.Trunks {
			if cfg.Trunks[i].Name == a.trunk {
				tr = &cfg.Trunks[i]
			}
		}
		if tr == nil {
			return nil, nil, t, usagef("no trunk %q in %s", a.trunk, cfg.Source)
		}
		uri := a.target
		if uri == "" {
			if tr.Probe == nil || len(tr.Probe.Targets) == 0 {
				return nil, nil, t, usagef("trunk %q has no probe.targets; give --target", a.trunk)
			}
			uri = tr.Probe.Targets[0]
		}
		if t, err = active.TargetFromConfig(cfg, *tr, uri, a.insecure); err != nil {
			return nil, nil, t, err
		}
	} else {
		if a.target == "" {
			return nil, nil, t, usagef("give --target sip:HOST[:PORT] or --trunk NAME")
		}
		if t, err = active.TargetFromConfig(cfg, config.Trunk{Name: "(cli)"}, a.target, a.insecure); err != nil {
			return nil, nil, t, err
		}
	}
	var u sip.Uri
	if (!strings.HasPrefix(t.URI, "sip:") && !strings.HasPrefix(t.URI, "sips:")) || sip.ParseUri(t.URI, &u) != nil || u.Host == "" {
		return nil, nil, t, usagef("--target %q is not a sip: or sips: URI (sip:HOST[:PORT][;transport=tcp])", t.URI)
	}
	if a.transport != "" {
		switch a.transport {
		case "udp", "tcp", "tls":
			t.Transport = a.transport
		default:
			return nil, nil, t, usagef("--transport %q: want udp, tcp or tls", a.transport)
		}
	}
	t.From, t.To = orString(a.from, t.From), orString(a.to, t.To)
	t.UserAgent = orString(a.userAgent, t.UserAgent)
	if a.source != "" {
		if t.Source, err = netip.ParseAddr(a.source); err != nil {
			return nil, nil, t, usagef("--source %q is not an IP address", a.source)
		}
	}
	if a.caFile != "" {
		if t.RootCAs, err = active.LoadCAs(a.caFile); err != nil {
			return nil, nil, t, err
		}
	}
	return cfg, tr, t, nil
}

func orString(s, d string) string {
	if s != "" {
		return s
	}
	return d
}

func cmdProbeOptions(e *env, args []string) error {
	fs := flagSet(e, "probe options", "--target sip:HOST[:PORT] [flags]", `Sends SIP OPTIONS to a target and prints the response code and round-trip
time of each, like ping(8), then a summary. The round trip runs from the
request to the response coming off the socket. A target that does not answer
is reported at --timeout (not after SIP's 32 s Timer F). Exits 1 when the
target is down (no response to any request), 0 otherwise.

Examples:
  trunkscope probe options --target sip:198.51.100.10:5060 --count 5
  trunkscope probe options --target sips:sbc.example.net:5061 --ca-file ca.pem
  trunkscope probe options --trunk carrier-a --config prod.yml --count 0   # until Ctrl-C`)
	var a activeFlags
	a.register(fs)
	count := fs.Int("count", 4, "requests to send (0: until interrupted)")
	interval := fs.Duration("interval", time.Second, "time between requests")
	fs.DurationVar(&a.timeout, "timeout", 2*time.Second, "how long to wait for each response")
	if err := parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usagef("unexpected argument %q", fs.Arg(0))
	}
	if *count < 0 || *interval <= 0 || a.timeout <= 0 {
		return usagef("--count must not be negative, --interval and --timeout must be positive")
	}
	cfg, _, t, err := a.resolve()
	if err != nil {
		return err
	}
	quietSIP()
	pg, err := active.NewPinger(t, a.timeout)
	if err != nil {
		return err
	}
	defer pg.Close()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	h := active.Hysteresis{DownAfter: cfg.Probe.Options.DownAfter, UpAfter: cfg.Probe.Options.UpAfter}
	fmt.Fprintf(e.stdout, "OPTIONS %s over %s, timeout %v\n", t.URI, pg.Transport(), a.timeout)
	var rtts []float64
	sent, start := 0, time.Now()
	var state event.TrunkState
	for i := 1; *count == 0 || i <= *count; i++ {
		p := pg.Ping(ctx)
		if ctx.Err() != nil {
			break
		}
		sent++
		state = h.Observe(p.OK())
		if p.OK() {
			ms := float64(p.RTT.Microseconds()) / 1000
			rtts = append(rtts, ms)
			fmt.Fprintf(e.stdout, "%d %s from %s: seq=%d time=%.3f ms state=%s\n", p.Code, p.Reason, t.URI, i, ms, state)
		} else {
			fmt.Fprintf(e.stdout, "%s from %s: seq=%d %s state=%s\n", p.Result, t.URI, i, p.Detail, state)
		}
		if *count != 0 && i == *count {
			break
		}
		select {
		case <-ctx.Done():
		case <-time.After(*interval):
		}
		if ctx.Err() != nil {
			break
		}
	}
	fmt.Fprintf(e.stdout, "\n--- %s OPTIONS statistics ---\n", t.URI)
	lost := 0.0
	if sent > 0 {
		lost = 100 * float64(sent-len(rtts)) / float64(sent)
	}
	fmt.Fprintf(e.stdout, "%d requests sent, %d answered, %.0f%% without response, time %dms\n", sent, len(rtts), lost, time.Since(start).Milliseconds())
	if len(rtts) > 0 {
		lo, hi, sum := math.Inf(1), 0.0, 0.0
		for _, r := range rtts {
			lo, hi, sum = math.Min(lo, r), math.Max(hi, r), sum+r
		}
		mean := sum / float64(len(rtts))
		dev := 0.0
		for _, r := range rtts {
			dev += math.Abs(r - mean)
		}
		fmt.Fprintf(e.stdout, "rtt min/avg/max/mdev = %.3f/%.3f/%.3f/%.3f ms\n", lo, mean, hi, dev/float64(len(rtts)))
	}
	if len(rtts) == 0 && sent > 0 {
		return fmt.Errorf("%s is down: no response to %d requests", t.URI, sent)
	}
	if state == event.StateDown {
		return fmt.Errorf("%s is down (the last %d requests failed)", t.URI, cfg.Probe.Options.DownAfter)
	}
	return nil
}

func cmdProbeCall(e *env, args []string) error {
	fs := flagSet(e, "probe call", "--trunk NAME --to NUMBER [flags] | --target URI --to NUMBER", `Places one test call: INVITE with a PCMU/PCMA offer (digest credentials from
the trunk's probe.auth answer 401/407), post-dial delay to the first 18x,
answer, a G.711 tone both ways at 20 ms for --duration, BYE; CANCEL when
nobody answers within --ring-timeout. The audio received is measured like the
passive probe measures captured streams (RFC 3550 loss and jitter, G.107
MOS). Prints the call's steps and a summary; exits 0 when the call was
answered with audio both ways, 1 otherwise. --publish also sends the result
to the configured Kafka topic (trunkscope.probe), as scheduled calls are.

Examples:
  trunkscope probe call --trunk carrier-a --to 31201234567 --duration 10s --config prod.yml
  trunkscope probe call --target sip:198.51.100.10:5060 --to 100 --duration 5s`)
	var a activeFlags
	a.register(fs)
	to := fs.String("to", "", "number (or user) to call")
	duration := fs.Duration("duration", 0, "audio time after the answer (default probe.calls.duration, 10s)")
	ring := fs.Duration("ring-timeout", 0, "cancel when not answered this long after ringing (default probe.calls.ring_timeout)")
	codec := fs.String("codec", "", "codec offered first: PCMU or PCMA (default probe.calls.codec)")
	publish := fs.Bool("publish", false, "publish the result as an event to the configured Kafka (the embedded broker under --data when none)")
	fs.DurationVar(&a.timeout, "timeout", 0, "how long to wait for any response to the INVITE (default probe.calls.timeout)")
	if err := parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usagef("unexpected argument %q", fs.Arg(0))
	}
	if *to == "" {
		return usagef("give --to NUMBER")
	}
	cfg, tr, t, err := a.resolve()
	if err != nil {
		return err
	}
	trunk := config.Trunk{Name: t.Trunk}
	if tr != nil {
		trunk = *tr
	}
	o := active.CallOptionsFromConfig(cfg, trunk, *to)
	if *duration > 0 {
		o.Duration = *duration
	}
	if *ring > 0 {
		o.RingTimeout = *ring
	}
	if a.timeout > 0 {
		o.Timeout = a.timeout
	}
	if *codec != "" {
		o.Codec = strings.ToUpper(*codec)
		if o.Codec != "PCMU" && o.Codec != "PCMA" {
			return usagef("--codec %q: want PCMU or PCMA", *codec)
		}
	}
	quietSIP()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	fmt.Fprintf(e.stdout, "test call to %s via %s, %v of audio\n", *to, t.URI, o.Duration)
	r := active.Call(ctx, t, o)
	for _, s := range r.Steps {
		fmt.Fprintf(e.stdout, "%9.3fs  %s\n", s.At.Seconds(), s.What)
	}
	fmt.Fprintf(e.stdout, "\nresult    %s", r.Result)
	if r.Code != 0 {
		fmt.Fprintf(e.stdout, " (%d %s)", r.Code, r.Reason)
	}
	if r.Detail != "" {
		fmt.Fprintf(e.stdout, ": %s", r.Detail)
	}
	fmt.Fprintln(e.stdout)
	if r.CallID != "" {
		fmt.Fprintf(e.stdout, "call-id   %s\n", r.CallID)
	}
	if r.HasPDD {
		fmt.Fprintf(e.stdout, "pdd       %.1f ms (INVITE to first 18x, socket times)\n", float64(r.PDD.Microseconds())/1000)
	}
	if r.Setup > 0 {
		fmt.Fprintf(e.stdout, "setup     %.1f ms (INVITE to 2xx)\n", float64(r.Setup.Microseconds())/1000)
	}
	if r.Duration > 0 {
		fmt.Fprintf(e.stdout, "duration  %.1f s\n", r.Duration.Seconds())
	}
	if r.Sent > 0 || r.HasRTP {
		x := r.RTP
		fmt.Fprintf(e.stdout, "rtp       sent %d, received %d, expected %d, lost %d (%.1f%%), jitter mean %.2f ms max %.2f ms\n",
			r.Sent, x.Packets, x.Expected, x.Lost, x.LossPercent, x.MeanJitterMS, x.MaxJitterMS)
		if r.HasRTP {
			fmt.Fprintf(e.stdout, "mos       %.2f (G.107 E-model, G.711: loss %.1f%%, BurstR %.2f)\n", x.MOS, x.LossPercent, x.BurstR)
		}
	}
	if *publish {
		if err := publishCall(ctx, e, &a.common, cfg, t.Trunk, r); err != nil {
			return err
		}
	}
	if r.Result != event.CallAnswered {
		return fmt.Errorf("test call %s", r.Result)
	}
	return nil
}

// publishCall sends one test call's event to the configured brokers.
func publishCall(ctx context.Context, e *env, c *common, cfg *config.Config, trunk string, r *active.CallReport) error {
	s, err := openStack(ctx, cfg, c.data, true, e.log)
	if err != nil {
		return err
	}
	defer s.Close()
	prod := bus.NewProducer(s.brokers, s.topics(), bus.ProducerOptions{})
	ev := r.Event(cfg.ProbeID, trunk)
	event.NewIDHasher().SetTestCallID(ev)
	if err := prod.TestCall(ev); err != nil {
		return err
	}
	if err := prod.Close(ctx); err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "published to %s\n", s.cfg.Kafka.Topics.Probe)
	return nil
}

// hasActiveTargets reports whether the configuration (file or built-in)
// names trunks to monitor actively.
func hasActiveTargets(path string) bool {
	cfg, err := config.Load(path)
	if err != nil {
		return false // serve reports the error itself
	}
	ts, _, err := active.FromConfig(cfg, false)
	return err == nil && len(ts) > 0
}

// startActive runs the scheduled OPTIONS monitoring and test calls of every
// trunk with probe targets, publishing to the stack's brokers, until ctx
// ends; the returned function waits for it. With no targets it does
// nothing.
func startActive(ctx context.Context, e *env, s *stack, mt *metrics) (wait func(), err error) {
	targets, o, err := active.FromConfig(s.cfg, false)
	if err != nil || len(targets) == 0 {
		return func() {}, err
	}
	quietSIP()
	o.Logger = e.log
	prod := bus.NewProducer(s.brokers, s.topics(), bus.ProducerOptions{})
	m, err := active.NewMonitor(targets, o, prod)
	if err != nil {
		return nil, err
	}
	mt.add(func(w io.Writer) { writeActive(w, m) })
	var wg sync.WaitGroup
	wg.Add(2)
	go func() {
		defer wg.Done()
		prod.FlushEvery(ctx, time.Second, func(err error) { e.log.Warn("publishing probe results", "err", err) })
	}()
	go func() {
		defer wg.Done()
		if err := m.Run(ctx); err != nil && !errors.Is(err, context.Canceled) {
			e.log.Error("active probe stopped", "err", err)
		}
	}()
	return func() {
		wg.Wait()
		if err := prod.Close(context.WithoutCancel(ctx)); err != nil {
			e.log.Warn("publishing probe results", "err", err)
		}
	}, nil
}

func cmdProbeFailover(e *env, args []string) error {
	fs := flagSet(e, "probe failover", "[--group NAME] [--from T --to T] [flags]", `Verifies failover for the configured trunk groups: for every period in which
the active probe saw a trunk down (every one of its targets down), it lists
the calls each trunk of the group carried meanwhile (from the CDRs) and
whether they moved to another trunk of the group. Exits 1 when a period
shows calls still offered to the down trunk, or none moved elsewhere.

Example: trunkscope probe failover --group nl-out --from 2026-11-24 --config prod.yml`)
	var c common
	c.register(fs)
	var rng timeRange
	rng.register(fs)
	group := fs.String("group", "", "only this group")
	if err := parse(fs, args); err != nil {
		return err
	}
	s, f, t, err := c.openRange(e, &rng)
	if err != nil {
		return err
	}
	defer s.Close()
	ctx := context.Background()
	if len(s.cfg.Groups) == 0 {
		return usagef("no groups in %s: configure groups with trunk priorities", s.cfg.Source)
	}
	failed, found := 0, false
	for _, g := range s.cfg.Groups {
		if *group != "" && g.Name != *group {
			continue
		}
		found = true
		ps, err := collector.Failover(ctx, s.st, s.db(), g, f.UnixMicro(), t.UnixMicro())
		if err != nil {
			return err
		}
		fmt.Fprintf(e.stdout, "group %s (%s)\n", g.Name, groupOrder(g))
		if len(ps) == 0 {
			fmt.Fprintf(e.stdout, "  no trunk was down\n")
		}
		for _, p := range ps {
			verdict := "failover verified: calls moved to " + p.MovedTo
			switch {
			case p.StillSent > 0:
				verdict = fmt.Sprintf("NOT verified: %d calls still offered to %s", p.StillSent, p.Trunk)
				failed++
			case p.MovedTo == "":
				verdict = "NOT verified: no calls on any other trunk of the group"
				failed++
			}
			until := time.UnixMicro(p.ToUS).UTC().Format(time.RFC3339)
			if p.ToUS == t.UnixMicro() {
				until = "still down"
			}
			fmt.Fprintf(e.stdout, "  %s down %s .. %s:", p.Trunk, time.UnixMicro(p.FromUS).UTC().Format(time.RFC3339), until)
			for _, m := range g.Trunks {
				fmt.Fprintf(e.stdout, " %s %d/%d", m.Trunk, p.Answered[m.Trunk], p.Attempts[m.Trunk])
			}
			fmt.Fprintf(e.stdout, " (answered/attempts): %s\n", verdict)
		}
	}
	if !found {
		return usagef("no group %q", *group)
	}
	if failed > 0 {
		return fmt.Errorf("%d outage periods without verified failover", failed)
	}
	return nil
}

func groupOrder(g config.Group) string {
	ms := append([]config.GroupMember(nil), g.Trunks...)
	sort.Slice(ms, func(i, j int) bool { return ms[i].Priority < ms[j].Priority })
	var parts []string
	for _, m := range ms {
		parts = append(parts, fmt.Sprintf("%s priority %d", m.Trunk, m.Priority))
	}
	return strings.Join(parts, ", ")
}

func firstArg(args []string) string {
	if len(args) == 0 {
		return ""
	}
	return args[0]
}

// writeActive exports the active probe's target states and counts:
// trunkscope_active_target_state is 1 up, 2 degraded, 3 down.
func writeActive(w io.Writer, m *active.Monitor) {
	st := m.Status()
	fmt.Fprintf(w, "# TYPE trunkscope_active_target_state gauge\n")
	for _, t := range st {
		fmt.Fprintf(w, "trunkscope_active_target_state{trunk=%q,target=%q} %d\n", t.Trunk, t.URI, t.State)
	}
	fmt.Fprintf(w, "# TYPE trunkscope_active_pings_total counter\n")
	for _, t := range st {
		for r, n := range t.Pings {
			if r > 0 {
				fmt.Fprintf(w, "trunkscope_active_pings_total{trunk=%q,target=%q,result=%q} %d\n", t.Trunk, t.URI, event.PingResult(r), n)
			}
		}
	}
	calls := m.CallCounts()
	trunks := make([]string, 0, len(calls))
	for t := range calls {
		trunks = append(trunks, t)
	}
	sort.Strings(trunks)
	fmt.Fprintf(w, "# TYPE trunkscope_active_test_calls_total counter\n")
	for _, t := range trunks {
		for r, n := range calls[t] {
			if r > 0 {
				fmt.Fprintf(w, "trunkscope_active_test_calls_total{trunk=%q,result=%q} %d\n", t, event.CallResult(r), n)
			}
		}
	}
}
