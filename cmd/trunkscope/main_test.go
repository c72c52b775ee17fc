package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/trunkscope/trunkscope/bus/kafkatest"
	"github.com/trunkscope/trunkscope/config"
)

// The test binary doubles as the trunkscope binary: with TRUNKSCOPE_AS_MAIN
// set it runs main, so tests drive real processes (crash tests kill them)
// without a separate build step.
func TestMain(m *testing.M) {
	if os.Getenv("TRUNKSCOPE_AS_MAIN") == "1" {
		os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
	}
	// Every service a test starts serves its API on an ephemeral port (it
	// advertises it in its data directory), never on the fixed default.
	os.Setenv("TRUNKSCOPE_API_LISTEN", "127.0.0.1:0")
	code := m.Run()
	kafkatest.StopShared() // the production-path tests share one Apache Kafka
	os.Exit(code)
}

type result struct {
	stdout, stderr string
	code           int
	killed         bool
}

// trunkscope runs the command with extra environment variables.
func trunkscope(t *testing.T, env []string, args ...string) result {
	t.Helper()
	cmd := exec.Command(os.Args[0], args...)
	cmd.Env = append(append(os.Environ(), "TRUNKSCOPE_AS_MAIN=1"), env...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	r := result{stdout: out.String(), stderr: errb.String()}
	var ee *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &ee):
		r.code = ee.ExitCode()
		r.killed = !ee.Exited()
	default:
		t.Fatalf("trunkscope %v: %v", args, err)
	}
	return r
}

// mustRun runs the command and fails the test unless it exits 0.
func mustRun(t *testing.T, args ...string) result {
	t.Helper()
	r := trunkscope(t, nil, args...)
	if r.code != 0 {
		t.Fatalf("trunkscope %s: exit %d\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), r.code, r.stdout, r.stderr)
	}
	return r
}

// exported is one line of `cdr export --format jsonl`.
type exported struct {
	CallID      string `json:"call_id"`
	Leg         int    `json:"leg"`
	Trunk       string `json:"trunk"`
	Direction   string `json:"direction"`
	Caller      string `json:"caller"`
	Callee      string `json:"callee"`
	Start       string `json:"start"`
	Answer      string `json:"answer"`
	End         string `json:"end"`
	PDDMs       int64  `json:"pdd_ms"`
	DurationMs  int64  `json:"duration_ms"`
	Outcome     string `json:"outcome"`
	FinalCode   int    `json:"final_code"`
	HangupBy    string `json:"hangup_by"`
	Flags       string `json:"flags"`
	BillableS   int64  `json:"billable_s"`
	Cost        string `json:"cost"`
	Currency    string `json:"currency"`
	Destination string `json:"destination"`
}

func exportCDRs(t *testing.T, data string) []exported {
	t.Helper()
	return exportCDRsWith(t, data)
}

// exportCDRsWith exports with extra flags (e.g. --config).
func exportCDRsWith(t *testing.T, data string, extra ...string) []exported {
	t.Helper()
	r := mustRun(t, append([]string{"cdr", "export", "--data", data, "--format", "jsonl"}, extra...)...)
	var out []exported
	for _, l := range strings.Split(strings.TrimSpace(r.stdout), "\n") {
		if l == "" {
			continue
		}
		var e exported
		if err := json.Unmarshal([]byte(l), &e); err != nil {
			t.Fatalf("export line %q: %v", l, err)
		}
		out = append(out, e)
	}
	return out
}

func TestHelpOnEveryCommand(t *testing.T) {
	for _, c := range commands() {
		args := []string{c.name, "--help"}
		r := mustRun(t, args...)
		if !strings.Contains(r.stdout, "Usage: trunkscope "+c.name) {
			t.Errorf("%s --help printed:\n%s", c.name, r.stdout)
		}
	}
	if r := trunkscope(t, nil, "frobnicate"); r.code != exitUsage || !strings.Contains(r.stderr, "unknown command") {
		t.Fatalf("unknown command: %+v", r)
	}
	if r := trunkscope(t, nil, "replay"); r.code != exitUsage {
		t.Fatalf("replay without a file: exit %d", r.code)
	}
}

func TestBadCaptureFiles(t *testing.T) {
	dir := t.TempDir()
	text := filepath.Join(dir, "notes.txt")
	os.WriteFile(text, []byte("this is not a capture\n"), 0o644)
	for _, tc := range []struct{ file, want string }{
		{text, "not a pcap or pcapng capture"},
		{filepath.Join(dir, "missing.pcap"), "no such file"},
	} {
		r := trunkscope(t, nil, "replay", tc.file, "--data", filepath.Join(dir, "data"))
		if r.code != exitError || !strings.Contains(r.stderr, tc.file) || !strings.Contains(r.stderr, tc.want) {
			t.Errorf("replay %s: exit %d, stderr %q; want exit 1 naming the file and %q", tc.file, r.code, r.stderr, tc.want)
		}
	}
}

func TestMissingLibchdbSaysHowToInstall(t *testing.T) {
	dir := t.TempDir()
	gen := filepath.Join(dir, "c.pcap")
	mustRun(t, "gen", "--calls", "5", "--no-rtp", "--out", gen) // gen needs no engine
	r := trunkscope(t, []string{"CHDB_LIB_PATH=" + filepath.Join(dir, "nope", "libchdb.so")}, "replay", gen, "--data", filepath.Join(dir, "data"))
	lines := strings.Split(strings.TrimSpace(r.stderr), "\n")
	if r.code != exitError || len(lines) != 1 || !strings.Contains(lines[0], "libchdb.so not found") || !strings.Contains(lines[0], "scripts/setup") {
		t.Fatalf("exit %d, stderr:\n%s\nwant one line saying how to install libchdb.so", r.code, r.stderr)
	}
}

// writeConfig writes the built-in configuration with edits, plus its decks,
// into dir and returns the file's path.
func writeConfig(t *testing.T, dir string, edit func(string) string) string {
	t.Helper()
	def := string(config.DefaultYAML())
	text := edit(def)
	if text == def {
		t.Fatal("config edit changed nothing")
	}
	path := filepath.Join(dir, "trunkscope.yml")
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	os.MkdirAll(filepath.Join(dir, "decks"), 0o755)
	for _, d := range config.Default().Decks {
		f, err := config.Default().OpenDeck(d)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(f)
		f.Close()
		os.WriteFile(filepath.Join(dir, d.File), b, 0o644)
	}
	return path
}

// A store or broker that is down gives a clear error naming it, not a panic.
func TestServersDown(t *testing.T) {
	dir := t.TempDir()
	dead := freeAddr(t)
	for _, tc := range []struct {
		name, old, new, want string
	}{
		{"clickhouse", "  addrs: []            # empty: embedded chDB under the data directory", "  addrs: [" + dead + "]", dead},
		{"kafka", "  brokers: []          # empty: the embedded broker under the data directory", "  brokers: [" + dead + "]", dead},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := writeConfig(t, t.TempDir(), func(s string) string { return strings.Replace(s, tc.old, tc.new, 1) })
			gen := filepath.Join(dir, "c.pcap")
			mustRun(t, "gen", "--calls", "3", "--no-rtp", "--out", gen)
			r := trunkscope(t, nil, "replay", gen, "--config", cfg, "--data", filepath.Join(t.TempDir(), "d"))
			if r.code != exitError || !strings.Contains(r.stderr, tc.want) || strings.Contains(r.stderr, "panic") {
				t.Fatalf("exit %d, stderr:\n%s", r.code, r.stderr)
			}
		})
	}
}

// freeAddr returns a loopback address nothing listens on.
func freeAddr(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}
