package active

import (
	"context"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/trunkscope/trunkscope/event"
)

// Hysteresis turns ping outcomes into a target state: DownAfter consecutive
// failures take it down, UpAfter consecutive successes bring it up, and in
// between (failing but not yet down, or recovering) it is degraded. A
// recovering target that fails again is down at once: it has not proven
// itself since it went down. A target starts up: a fresh probe reports a dead target degraded for its
// first DownAfter-1 failures rather than flapping on its first lost
// datagram.
type Hysteresis struct {
	DownAfter, UpAfter int
	state              event.TrunkState
	fails, oks         int
	recovering         bool // degraded on the way up from down
}

// Observe records one outcome and returns the state after it.
func (h *Hysteresis) Observe(ok bool) event.TrunkState {
	if h.state == 0 {
		h.state = event.StateUp
	}
	if ok {
		h.oks, h.fails = h.oks+1, 0
		if h.state != event.StateUp && h.oks >= max(h.UpAfter, 1) {
			h.state, h.recovering = event.StateUp, false
		} else if h.state == event.StateDown {
			h.state, h.recovering = event.StateDegraded, true
		}
		return h.state
	}
	h.fails, h.oks = h.fails+1, 0
	if h.fails >= max(h.DownAfter, 1) || h.recovering {
		h.state = event.StateDown
	} else if h.state == event.StateUp {
		h.state = event.StateDegraded
	}
	return h.state
}

// State returns the current state (up before any outcome).
func (h *Hysteresis) State() event.TrunkState {
	if h.state == 0 {
		return event.StateUp
	}
	return h.state
}

// Sink receives the probe's results: bus.Producer in production.
type Sink interface {
	OptionsPing(*event.OptionsPing) error
	TestCall(*event.TestCall) error
}

// MonitorTarget is one target to ping, and optionally to place scheduled
// test calls through.
type MonitorTarget struct {
	Target
	// Interval overrides MonitorOptions.Interval for this target.
	Interval time.Duration
	// Call, when set with a positive Every, places test calls every Every.
	Call *CallOptions
	// CallEvery is the interval between scheduled test calls.
	CallEvery time.Duration
}

// MonitorOptions tune a Monitor.
type MonitorOptions struct {
	ProbeID string
	// Interval between pings, plus a random jitter in [0, Jitter).
	Interval, Jitter time.Duration
	// Timeout of one ping.
	Timeout time.Duration
	// DownAfter and UpAfter are the hysteresis thresholds.
	DownAfter, UpAfter int
	Logger             *slog.Logger
	// OnPing, when set, sees every ping with the state after it (the
	// CLI's output, tests).
	OnPing func(t Target, p Ping, st event.TrunkState)
	// OnCall, when set, sees every scheduled test call.
	OnCall func(t Target, r *CallReport)
}

// Monitor pings every target on its interval and publishes the results.
type Monitor struct {
	o       MonitorOptions
	targets []MonitorTarget
	sink    Sink
	log     *slog.Logger

	mu     sync.Mutex
	states map[string]*Hysteresis // by trunk + " " + URI
	counts map[string]*[8]int64   // pings by result, by trunk + " " + URI
	calls  map[string]*[7]int64   // test calls by result, by trunk
	ids    *event.IDHasher
}

// TargetStatus is a target's state and ping counts, for metrics.
type TargetStatus struct {
	Trunk, URI string
	State      event.TrunkState
	// Pings counts pings by result (index: event.PingResult).
	Pings [8]int64
}

// Status returns every target's state and counts, in configuration order.
func (m *Monitor) Status() []TargetStatus {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make([]TargetStatus, 0, len(m.targets))
	for _, t := range m.targets {
		k := key(t.Target)
		out = append(out, TargetStatus{Trunk: t.Trunk, URI: t.URI, State: m.states[k].State(), Pings: *m.counts[k]})
	}
	return out
}

// CallCounts returns test calls by trunk and result (index:
// event.CallResult).
func (m *Monitor) CallCounts() map[string][7]int64 {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make(map[string][7]int64, len(m.calls))
	for k, v := range m.calls {
		out[k] = *v
	}
	return out
}

// NewMonitor returns a monitor of targets publishing to sink.
func NewMonitor(targets []MonitorTarget, o MonitorOptions, sink Sink) (*Monitor, error) {
	if o.Interval <= 0 || o.Timeout <= 0 {
		return nil, fmt.Errorf("active: monitor interval and timeout must be positive")
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	m := &Monitor{o: o, targets: targets, sink: sink, log: o.Logger.With("component", "active-probe"),
		states: map[string]*Hysteresis{}, counts: map[string]*[8]int64{}, calls: map[string]*[7]int64{}, ids: event.NewIDHasher()}
	for _, t := range targets {
		m.states[key(t.Target)] = &Hysteresis{DownAfter: o.DownAfter, UpAfter: o.UpAfter}
		m.counts[key(t.Target)] = new([8]int64)
		if t.Call != nil {
			m.calls[t.Trunk] = new([7]int64)
		}
	}
	return m, nil
}

func key(t Target) string { return t.Trunk + " " + t.URI }

// State returns a target's current state.
func (m *Monitor) State(t Target) event.TrunkState {
	m.mu.Lock()
	defer m.mu.Unlock()
	if h := m.states[key(t)]; h != nil {
		return h.State()
	}
	return 0
}

// Run pings (and calls) until ctx ends. Each target has its own goroutine,
// so a slow target never delays another's pings.
func (m *Monitor) Run(ctx context.Context) error {
	var wg sync.WaitGroup
	errs := make(chan error, 2*len(m.targets))
	for _, t := range m.targets {
		pg, err := NewPinger(t.Target, m.o.Timeout)
		if err != nil {
			return err
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer pg.Close()
			every := t.Interval
			if every <= 0 {
				every = m.o.Interval
			}
			m.loop(ctx, every, func() { m.ping(ctx, pg) })
		}()
		if t.Call != nil && t.CallEvery > 0 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				m.loop(ctx, t.CallEvery, func() { m.call(ctx, t) })
			}()
		}
	}
	m.log.Info("active probe running", "targets", len(m.targets), "interval", m.o.Interval, "timeout", m.o.Timeout)
	wg.Wait()
	close(errs)
	return nil
}

// loop runs fn now (after a random part of the jitter, so many targets
// spread out) and then every interval plus jitter, until ctx ends.
func (m *Monitor) loop(ctx context.Context, every time.Duration, fn func()) {
	wait := m.jitter()
	for {
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait):
		}
		fn()
		wait = every + m.jitter()
	}
}

func (m *Monitor) jitter() time.Duration {
	if m.o.Jitter <= 0 {
		return 0
	}
	return rand.N(m.o.Jitter)
}

func (m *Monitor) ping(ctx context.Context, pg *Pinger) {
	p := pg.Ping(ctx)
	if ctx.Err() != nil {
		return // stopping: an interrupted ping says nothing about the trunk
	}
	t := pg.Target()
	m.mu.Lock()
	h := m.states[key(t)]
	before := h.State()
	st := h.Observe(p.OK())
	if int(p.Result) < len(m.counts[key(t)]) {
		m.counts[key(t)][p.Result]++
	}
	ev := &event.OptionsPing{Header: event.Header{Version: event.Version, ProbeID: []byte(m.o.ProbeID), TimeUS: p.At.UnixMicro()},
		Trunk: []byte(t.Trunk), Target: []byte(t.URI), Transport: pg.p.eventTransport(), Code: p.Code, Result: p.Result, State: st,
		Detail: []byte(p.Detail)}
	if p.OK() {
		ev.RTTUS = micros(p.RTT)
	}
	m.ids.SetOptionsPingID(ev)
	m.mu.Unlock()
	if st != before {
		m.log.Warn("trunk target state changed", "trunk", t.Trunk, "target", t.URI, "from", before.String(), "to", st.String(),
			"result", p.Result.String(), "code", p.Code, "detail", p.Detail)
	}
	if err := m.sink.OptionsPing(ev); err != nil {
		m.log.Error("publishing ping", "trunk", t.Trunk, "err", err)
	}
	if m.o.OnPing != nil {
		m.o.OnPing(t, p, st)
	}
}

func (m *Monitor) call(ctx context.Context, t MonitorTarget) {
	r := Call(ctx, t.Target, *t.Call)
	if ctx.Err() != nil && r.Result == event.CallError {
		return
	}
	ev := r.Event(m.o.ProbeID, t.Trunk)
	m.mu.Lock()
	m.ids.SetTestCallID(ev)
	if c := m.calls[t.Trunk]; c != nil && int(r.Result) < len(c) {
		c[r.Result]++
	}
	m.mu.Unlock()
	m.log.Info("test call", "trunk", t.Trunk, "result", r.Result.String(), "code", r.Code, "pdd", r.PDD, "mos", float64(ev.MOSx1000)/1000, "detail", r.Detail)
	if err := m.sink.TestCall(ev); err != nil {
		m.log.Error("publishing test call", "trunk", t.Trunk, "err", err)
	}
	if m.o.OnCall != nil {
		m.o.OnCall(t.Target, r)
	}
}
