// Command trunkscope watches SIP trunks and bills their minutes: one binary
// with a subcommand per role. It only wires packages together; the work is
// in probe, collector, rating, bus, store and schema.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"runtime/pprof"
	"strings"

	"github.com/trunkscope/trunkscope/config"
)

// Exit codes.
const (
	exitOK    = 0
	exitError = 1
	exitUsage = 2
)

type command struct {
	name, args, summary string
	run                 func(env *env, args []string) error
}

func commands() []command {
	return []command{
		{"demo", "[flags]", "generate a capture, push it through the whole pipeline on the embedded engines, print the per-trunk table", cmdDemo},
		{"gen", "--out FILE.pcap [flags]", "write a synthetic SIP/RTP capture and its ground truth (FILE.truth.json)", cmdGen},
		{"replay", "FILE [flags]", "feed a pcap/pcapng capture through probe, Kafka, collector, ClickHouse and rating; print the per-trunk table", cmdReplay},
		{"run", "[flags]", "run the service (embedded broker and store, collector) until SIGINT/SIGTERM", cmdRun},
		{"probe", "--iface IF | --hep-listen ADDR | options | call", "capture SIP live or receive HEP, publish it as events (with no brokers configured, also run the collector); OPTIONS pings and test calls", cmdProbe},
		{"collector", "--config FILE [flags]", "consume events from the configured Kafka into the configured ClickHouse (scale out: run several)", cmdCollector},
		{"cdr", "export [flags]", "export CDRs with their cost as CSV or JSON lines", cmdCDR},
		{"ladder", "CALL-ID", "draw a call's SIP flow in the terminal (like sngrep)", cmdLadder},
		{"call", "pcap CALL-ID", "write a call's SIP messages as a pcap file for Wireshark", cmdCall},
		{"rebuild", "[--from T --to T]", "recompute CDRs, KPI rollups and rated CDRs from the stored raw events; report what changed", cmdRebuild},
		{"kpi", "[flags]", "trunk KPIs (ASR, ACD, NER, SER, SEER, ISA, SCR, PDD, 408/503, CPS, concurrency) from the rollups", cmdKPI},
		{"migrate", "[flags]", "create or upgrade the ClickHouse schema (idempotent)", cmdMigrate},
		{"bench", "[flags]", "measure the probe, rating and the embedded pipeline on this machine", cmdBench},
		{"rate", rateUsage, "rating: import decks (carrier CSV or CGRateS), quote a call, close periods, re-rate, export, summaries", cmdRate},
		{"dashboards", "generate|check|push", "Grafana dashboards, provisioning and alert rules: generate, check every panel's SQL, push to Grafana", cmdDashboards},
		{"alerts", "[flags]", "evaluate the alert rules on the rollups in event time; notify Alertmanager and webhooks", cmdAlerts},
		{"config", "defaults|check FILE", "print the built-in configuration, or validate a configuration file", cmdConfig},
	}
}

// env is what every command gets: its output streams and a logger.
type env struct {
	stdout, stderr io.Writer
	log            *slog.Logger
}

func main() {
	// TRUNKSCOPE_CPUPROFILE=FILE writes a CPU profile of the command, for
	// `go tool pprof` (how the figures in the README were investigated).
	if path := os.Getenv("TRUNKSCOPE_CPUPROFILE"); path != "" {
		if f, err := os.Create(path); err == nil {
			pprof.StartCPUProfile(f)
			code := run(os.Args[1:], os.Stdout, os.Stderr)
			pprof.StopCPUProfile()
			f.Close()
			os.Exit(code)
		}
	}
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	e := &env{stdout: stdout, stderr: stderr, log: newLogger(stderr, os.Getenv("TRUNKSCOPE_LOG"))}
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		usage(stdout)
		if len(args) == 0 {
			return exitUsage
		}
		return exitOK
	}
	for _, c := range commands() {
		if c.name != args[0] {
			continue
		}
		err := c.run(e, args[1:])
		switch {
		case err == nil:
			return exitOK
		case errors.Is(err, flag.ErrHelp):
			return exitOK
		case errors.As(err, new(usageError)):
			fmt.Fprintf(stderr, "trunkscope %s: %v\nRun 'trunkscope %s --help' for usage.\n", c.name, err, c.name)
			return exitUsage
		default:
			fmt.Fprintf(stderr, "trunkscope %s: %v\n", c.name, err)
			return exitError
		}
	}
	fmt.Fprintf(stderr, "trunkscope: unknown command %q\n\n", args[0])
	usage(stderr)
	return exitUsage
}

func usage(w io.Writer) {
	fmt.Fprintf(w, `trunkscope watches SIP trunks and bills their minutes.

Usage: trunkscope COMMAND [flags]

Commands:
`)
	for _, c := range commands() {
		fmt.Fprintf(w, "  %-10s %s\n", c.name, c.summary)
	}
	fmt.Fprintf(w, `
Run 'trunkscope COMMAND --help' for a command's flags.
Data lives in --data DIR (default %s; $TRUNKSCOPE_DATA overrides it).
Logs go to stderr; set TRUNKSCOPE_LOG=debug for more.
`, defaultDataDir())
}

type usageError struct{ error }

func usagef(format string, a ...any) error { return usageError{fmt.Errorf(format, a...)} }

func newLogger(w io.Writer, level string) *slog.Logger {
	var l slog.Level
	switch strings.ToLower(level) {
	case "debug":
		l = slog.LevelDebug
	case "warn":
		l = slog.LevelWarn
	case "error":
		l = slog.LevelError
	default:
		l = slog.LevelInfo
	}
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: l}))
}

// defaultDataDir is where the embedded engines keep their data when --data
// is not given.
func defaultDataDir() string {
	if d := os.Getenv("TRUNKSCOPE_DATA"); d != "" {
		return d
	}
	if d := os.Getenv("XDG_DATA_HOME"); d != "" {
		return filepath.Join(d, "trunkscope")
	}
	if h, err := os.UserHomeDir(); err == nil {
		return filepath.Join(h, ".local", "share", "trunkscope")
	}
	return ".trunkscope"
}

// flagSet returns a FlagSet whose --help explains the command.
func flagSet(e *env, name, args, about string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	fs.Usage = func() {
		fmt.Fprintf(e.stdout, "Usage: trunkscope %s %s\n\n%s\n\nFlags:\n", name, args, about)
		fs.SetOutput(e.stdout)
		fs.PrintDefaults()
		fs.SetOutput(e.stderr)
	}
	return fs
}

// common are the flags every data command takes.
type common struct {
	config, data string
}

func (c *common) register(fs *flag.FlagSet) {
	fs.StringVar(&c.config, "config", "", "configuration file (YAML); default: the built-in configuration (see 'trunkscope config defaults')")
	fs.StringVar(&c.data, "data", defaultDataDir(), "data directory of the embedded broker and store")
}

// parse parses flags anywhere among the arguments (`replay FILE --data X`
// as well as `replay --data X FILE`); the positional arguments are left in
// fs.Args().
// open loads the configuration and opens the engines it names; withBroker
// is false for commands that only read the store.
func (c *common) open(ctx context.Context, e *env, withBroker bool) (*stack, error) {
	cfg, err := config.Load(c.config)
	if err != nil {
		return nil, err
	}
	return openStack(ctx, cfg, c.data, withBroker, e.log)
}

func parse(fs *flag.FlagSet, args []string) error {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return err
			}
			return usageError{err}
		}
		args = fs.Args()
		if len(args) == 0 {
			break
		}
		if args[0] == "--" {
			pos = append(pos, args[1:]...)
			break
		}
		pos = append(pos, args[0])
		args = args[1:]
	}
	return fs.Parse(append([]string{"--"}, pos...))
}
