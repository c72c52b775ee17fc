package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"sort"
	"sync"
	"time"

	"github.com/trunkscope/trunkscope/probe"
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
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("metrics listener on %s: %w", addr, err)
	}
	srv := &http.Server{Handler: m, ReadHeaderTimeout: 5 * time.Second}
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			e.log.Error("metrics server", "err", err)
		}
	}()
	e.log.Info("serving metrics", "addr", ln.Addr().String(), "path", "/metrics")
	return func() {
		sctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		srv.Shutdown(sctx)
		<-done
	}, nil
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
