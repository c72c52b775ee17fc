package main

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"time"

	"github.com/trunkscope/trunkscope/collector"
)

func cmdCDR(e *env, args []string) error {
	if len(args) == 0 || (args[0] != "export" && args[0] != "--help" && args[0] != "-h") {
		return usagef("usage: trunkscope cdr export [flags]")
	}
	if args[0] != "export" {
		args = append([]string{"--help"}, args[1:]...)
	} else {
		args = args[1:]
	}
	fs := flagSet(e, "cdr export", "[flags]", `Writes CDRs started in [--from, --to) with their rated cost to stdout, ordered by
start time. Times are RFC 3339 (2026-01-05T09:00:00Z) or dates (2026-01-05, UTC).`)
	var c common
	c.register(fs)
	var rng timeRange
	rng.register(fs)
	format := fs.String("format", "csv", "csv or jsonl")
	if err := parse(fs, args); err != nil {
		return err
	}
	if *format != "csv" && *format != "jsonl" {
		return usagef("--format %q: want csv or jsonl", *format)
	}
	s, f, t, err := c.openRange(e, &rng)
	if err != nil {
		return err
	}
	defer s.Close()
	ctx := context.Background()
	w := bufio.NewWriterSize(e.stdout, 1<<16)
	n, err := collector.Export(ctx, s.st, s.db(), f, t, *format, w)
	if ferr := w.Flush(); err == nil {
		err = ferr
	}
	if err != nil {
		return err
	}
	e.log.Debug("exported", "cdrs", n)
	return nil
}

// timeRange is the --from/--to pair of the commands that read a range.
type timeRange struct{ from, to string }

func (r *timeRange) register(fs *flag.FlagSet) {
	fs.StringVar(&r.from, "from", "", "start of the range (inclusive); default: the beginning")
	fs.StringVar(&r.to, "to", "", "end of the range (exclusive); default: no end")
}

func (r *timeRange) parse() (from, to time.Time, err error) {
	if from, err = parseTime(r.from, time.Unix(0, 0)); err != nil {
		return from, to, usagef("--from: %v", err)
	}
	if to, err = parseTime(r.to, time.Date(2105, 12, 31, 0, 0, 0, 0, time.UTC)); err != nil {
		return from, to, usagef("--to: %v", err)
	}
	return from, to, nil
}

// openRange parses --from/--to and opens the store for reading; close the
// stack after use.
func (c *common) openRange(e *env, rng *timeRange) (s *stack, from, to time.Time, err error) {
	if from, to, err = rng.parse(); err != nil {
		return nil, from, to, err
	}
	s, err = c.open(context.Background(), e, false)
	return s, from, to, err
}

func parseTime(s string, def time.Time) (time.Time, error) {
	if s == "" {
		return def, nil
	}
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05", "2006-01-02 15:04:05", "2006-01-02"} {
		if t, err := time.ParseInLocation(layout, s, time.UTC); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("%q is not a time (use 2026-01-05 or 2026-01-05T09:00:00Z)", s)
}
