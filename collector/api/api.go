// Package api is the collector's HTTP interface: health and readiness,
// Prometheus metrics, and the versioned JSON API under /api/v1 (CDR query
// and streamed export, KPIs, one call's legs and SIP ladder, the call's SIP
// packets as a pcap file). It uses net/http only and holds no state of its
// own: every request reads the store.
//
// Every filter value a client sends is data, never SQL: each is validated
// against what it can be (an enum, a number, a time, a digit string) and
// rejected with 400 otherwise, and free-text values (trunk names, Call-IDs)
// reach ClickHouse only as quoted literals (store.Quote).
package api

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/trunkscope/trunkscope/store"
)

// Check is one readiness condition: nil when met.
type Check struct {
	Name string
	Fn   func(ctx context.Context) error
}

// Options configure the handler.
type Options struct {
	Store    store.Store
	Database string
	// Token, when set, is the bearer token every request but /healthz,
	// /readyz and /metrics must carry ("Authorization: Bearer TOKEN").
	Token string
	// Ready lists what /readyz checks (broker, store, consumer lag); the
	// store is always checked.
	Ready []Check
	// Metrics serves /metrics (the process's Prometheus exposition); nil
	// answers 404.
	Metrics http.Handler
	Logger  *slog.Logger
	// PageSize is how many rows an export reads from the store per query
	// (default 5000): it bounds the memory an export of any size takes.
	PageSize int
}

type server struct {
	o   Options
	log *slog.Logger
}

// New returns the API handler.
func New(o Options) http.Handler {
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.PageSize <= 0 {
		o.PageSize = 5000
	}
	s := &server{o: o, log: o.Logger.With("component", "api")}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("ok\n")) })
	mux.HandleFunc("GET /readyz", s.readyz)
	if o.Metrics != nil {
		mux.Handle("GET /metrics", o.Metrics)
	}
	api := http.NewServeMux()
	api.HandleFunc("GET /api/v1/cdrs", s.cdrs)
	api.HandleFunc("GET /api/v1/cdrs/export", s.export)
	api.HandleFunc("GET /api/v1/kpis", s.kpis)
	api.HandleFunc("GET /api/v1/calls/{id}", s.call)
	api.HandleFunc("GET /api/v1/calls/{id}/ladder", s.ladderText)
	api.HandleFunc("GET /api/v1/calls/{id}/pcap", s.pcap)
	api.HandleFunc("/api/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusNotFound, "no such endpoint: "+r.Method+" "+r.URL.Path)
	})
	mux.Handle("/api/", s.auth(api))
	return mux
}

// auth checks the bearer token in constant time.
func (s *server) auth(next http.Handler) http.Handler {
	if s.o.Token == "" {
		return next
	}
	want := []byte(s.o.Token)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		if !ok || subtle.ConstantTimeCompare([]byte(got), want) != 1 {
			w.Header().Set("WWW-Authenticate", `Bearer realm="trunkscope"`)
			writeError(w, http.StatusUnauthorized, "missing or wrong bearer token")
			return
		}
		next.ServeHTTP(w, r)
	})
}

func (s *server) readyz(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 5*time.Second)
	defer cancel()
	checks := append([]Check{{Name: "store", Fn: func(ctx context.Context) error {
		_, err := s.o.Store.Query(ctx, "SELECT 1")
		return err
	}}}, s.o.Ready...)
	res := map[string]string{}
	ok := true
	for _, c := range checks {
		if err := c.Fn(ctx); err != nil {
			res[c.Name] = err.Error()
			ok = false
		} else {
			res[c.Name] = "ok"
		}
	}
	code := http.StatusOK
	if !ok {
		code = http.StatusServiceUnavailable
	}
	writeJSON(w, code, map[string]any{"ready": ok, "checks": res})
}

// badRequest is an error in what the client sent.
type badRequest struct{ msg string }

func (e badRequest) Error() string { return e.msg }

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.Encode(v)
}

func writeError(w http.ResponseWriter, code int, msg string) {
	writeJSON(w, code, map[string]string{"error": msg})
}

// fail answers an error: 400 for what the client sent, 500 (logged) else.
func (s *server) fail(w http.ResponseWriter, r *http.Request, err error) {
	var br badRequest
	if errors.As(err, &br) {
		writeError(w, http.StatusBadRequest, br.msg)
		return
	}
	if r.Context().Err() != nil {
		return // the client went away
	}
	s.log.Error("request failed", "path", r.URL.Path, "err", err)
	writeError(w, http.StatusInternalServerError, "internal error (see the service log)")
}
