package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/trunkscope/trunkscope/bus"
	"github.com/trunkscope/trunkscope/collector"
	"github.com/trunkscope/trunkscope/collector/api"
)

// apiFlags configure the HTTP API of the service roles.
type apiFlags struct {
	listen, tokenFile, cert, key string
	maxLag                       int64
}

// defaultAPIListen is where the API listens unless told otherwise;
// TRUNKSCOPE_API_LISTEN overrides it (the tests use an ephemeral port).
func defaultAPIListen() string {
	if a := os.Getenv("TRUNKSCOPE_API_LISTEN"); a != "" {
		return a
	}
	return "127.0.0.1:9470"
}

func (a *apiFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&a.listen, "api-listen", defaultAPIListen(), `HTTP API address (/healthz, /readyz, /metrics, /api/v1/...); "off" disables it`)
	fs.StringVar(&a.tokenFile, "api-token-file", "", "file holding the bearer token the API requires (all but /healthz, /readyz, /metrics); $TRUNKSCOPE_API_TOKEN also sets it")
	fs.StringVar(&a.cert, "api-tls-cert", "", "serve the API over HTTPS with this certificate (PEM); needs --api-tls-key")
	fs.StringVar(&a.key, "api-tls-key", "", "private key (PEM) of --api-tls-cert")
	fs.Int64Var(&a.maxLag, "ready-max-lag", 100000, "/readyz fails while the collector group lags more events than this")
}

// apiToken reads the token from --api-token-file or $TRUNKSCOPE_API_TOKEN.
func apiToken(file string) (string, error) {
	if file == "" {
		return os.Getenv("TRUNKSCOPE_API_TOKEN"), nil
	}
	b, err := os.ReadFile(file)
	if err != nil {
		return "", fmt.Errorf("API token: %w", err)
	}
	t := strings.TrimSpace(string(b))
	if t == "" {
		return "", fmt.Errorf("API token file %s is empty", file)
	}
	return t, nil
}

// apiEndpoint is what a running service writes into its data directory so
// that other commands on the same directory find its API.
type apiEndpoint struct {
	URL string `json:"url"`
	PID int    `json:"pid"`
}

const apiEndpointFile = "api.json"

// serveAPI starts the API on a.listen; the returned function stops it.
func serveAPI(e *env, s *stack, a apiFlags, o api.Options) (func(), error) {
	if a.listen == "off" {
		return func() {}, nil
	}
	if (a.cert == "") != (a.key == "") {
		return nil, usagef("--api-tls-cert and --api-tls-key go together")
	}
	tok, err := apiToken(a.tokenFile)
	if err != nil {
		return nil, err
	}
	o.Token = tok
	ln, err := net.Listen("tcp", a.listen)
	if err != nil {
		return nil, fmt.Errorf("API listener on %s: %w (set --api-listen, or \"off\")", a.listen, err)
	}
	srv := &http.Server{Handler: api.New(o), ReadHeaderTimeout: 10 * time.Second}
	scheme := "http"
	if a.cert != "" {
		scheme = "https"
	}
	url := scheme + "://" + ln.Addr().String()
	done := make(chan struct{})
	go func() {
		defer close(done)
		var err error
		if a.cert != "" {
			err = srv.ServeTLS(ln, a.cert, a.key)
		} else {
			err = srv.Serve(ln)
		}
		if err != nil && !errors.Is(err, http.ErrServerClosed) {
			e.log.Error("API server", "err", err)
		}
	}()
	var endpoint string
	if s.lock != nil {
		// Only the owner of the data directory advertises itself there.
		endpoint = filepath.Join(s.dir, apiEndpointFile)
		b, _ := json.Marshal(apiEndpoint{URL: url, PID: os.Getpid()})
		if err := os.WriteFile(endpoint, b, 0o644); err != nil {
			e.log.Warn("cannot advertise the API in the data directory", "err", err)
		}
	}
	e.log.Info("serving API", "url", url, "token", tok != "")
	return func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		srv.Shutdown(ctx)
		<-done
		if endpoint != "" {
			os.Remove(endpoint)
		}
	}, nil
}

// apiClient reads the API of a running service.
type apiClient struct {
	url, token string
	hc         *http.Client
}

// get fetches path and returns the body; a non-200 answer is an error
// carrying the API's message.
func (c *apiClient) get(ctx context.Context, path string, w io.Writer) error {
	req, err := http.NewRequestWithContext(ctx, "GET", strings.TrimRight(c.url, "/")+path, nil)
	if err != nil {
		return err
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return fmt.Errorf("API %s: %w", c.url, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
		var m struct{ Error string }
		if json.Unmarshal(b, &m) == nil && m.Error != "" {
			return fmt.Errorf("API %s: %s (%s)", c.url, m.Error, resp.Status)
		}
		return fmt.Errorf("API %s: %s", c.url, resp.Status)
	}
	_, err = io.Copy(w, resp.Body)
	return err
}

// reader is how a read-only command reaches the data: the store directly
// when the data directory is free (or the store is a server), else the
// API of the service that owns the directory.
type reader struct {
	s   *stack
	api *apiClient
}

func (r *reader) Close() {
	if r.s != nil {
		r.s.Close()
	}
}

// clientFlags select how a read-only command reaches the data.
type clientFlags struct {
	common
	api, tokenFile string
}

func (c *clientFlags) register(fs *flag.FlagSet) {
	c.common.register(fs)
	fs.StringVar(&c.api, "api", "", "read through the API at this URL (e.g. http://127.0.0.1:9470) instead of the store; default: the store, or the API of the service that owns --data")
	fs.StringVar(&c.tokenFile, "api-token-file", "", "bearer token for --api ($TRUNKSCOPE_API_TOKEN also sets it)")
}

func (c *clientFlags) open(ctx context.Context, e *env) (*reader, error) {
	tok, err := apiToken(c.tokenFile)
	if err != nil {
		return nil, err
	}
	hc := &http.Client{Timeout: 5 * time.Minute}
	if c.api != "" {
		return &reader{api: &apiClient{url: c.api, token: tok, hc: hc}}, nil
	}
	s, err := c.common.open(ctx, e, false)
	if err == nil {
		return &reader{s: s}, nil
	}
	if !errors.Is(err, errInUse) {
		return nil, err
	}
	// The service owns the directory: use the API it advertises there.
	b, rerr := os.ReadFile(filepath.Join(c.data, apiEndpointFile))
	var ep apiEndpoint
	if rerr != nil || json.Unmarshal(b, &ep) != nil || ep.URL == "" {
		return nil, fmt.Errorf("%w; it serves no API this command can find (pass --api URL)", err)
	}
	e.log.Debug("data directory in use; reading through the API", "url", ep.URL, "pid", ep.PID)
	return &reader{api: &apiClient{url: ep.URL, token: tok, hc: hc}}, nil
}

// readyChecks are what /readyz checks beside the store: the broker answers
// and, with a collector, its group's lag is under maxLag.
func readyChecks(s *stack, col *collector.Collector, lag *lagMeter, maxLag int64) []api.Check {
	checks := []api.Check{{Name: "broker", Fn: func(ctx context.Context) error { return bus.Ping(ctx, s.brokers) }}}
	if col != nil {
		checks = append(checks, api.Check{Name: "lag", Fn: func(ctx context.Context) error {
			byTopic, err := lag.read(ctx)
			if err != nil {
				return err
			}
			var total int64
			for _, n := range byTopic {
				total += n
			}
			if total > maxLag {
				return fmt.Errorf("collector lags %d events (more than %d)", total, maxLag)
			}
			return nil
		}}, api.Check{Name: "collector", Fn: func(ctx context.Context) error {
			if col.Stats().StoreDown.Load() {
				return errors.New("the collector cannot store (retrying)")
			}
			return nil
		}})
	}
	return checks
}
