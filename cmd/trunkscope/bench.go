package main

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"text/tabwriter"
	"time"

	"github.com/trunkscope/trunkscope/config"
	"github.com/trunkscope/trunkscope/event"
	"github.com/trunkscope/trunkscope/probe"
	"github.com/trunkscope/trunkscope/probe/synth"
	"github.com/trunkscope/trunkscope/rating"
)

func cmdBench(e *env, args []string) error {
	fs := flagSet(e, "bench", "[flags]", `Measures trunkscope's hot paths on this machine and prints the figures:
the passive probe reading a generated G.711 capture into events (in memory,
Kafka excluded), rating against a generated 200,000-prefix deck, and the
embedded pipeline (kfake -> collector -> chDB) on a signalling-only capture.
Single-threaded figures; run it on an idle machine.`)
	calls := fs.Int("calls", 300, "calls in the probe's capture (with RTP)")
	pipelineCalls := fs.Int("pipeline-calls", 20000, "calls in the pipeline's signalling-only capture")
	prefixes := fs.Int("prefixes", 200000, "rows in the generated rate deck")
	if err := parse(fs, args); err != nil {
		return err
	}
	dir, err := os.MkdirTemp("", "trunkscope-bench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	tw := tabwriter.NewWriter(e.stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "BENCHMARK\tFIGURE\tDETAIL")

	// Probe: capture file (page cache) -> decode -> SIP scan -> event encode.
	pcap := filepath.Join(dir, "media.pcap")
	if err := generate(&env{stdout: e.stdout, stderr: ioDiscard{}, log: e.log}, pcap, synth.Options{Calls: *calls, Seed: 1}); err != nil {
		return err
	}
	p, _ := probe.New()
	buf := make([]byte, 0, 64<<10)
	sink := probe.SinkFunc(func(ev *event.SIP) error { buf = event.AppendSIP(buf[:0], ev); return nil })
	start := time.Now()
	if err := probe.ReadFile(context.Background(), pcap, p, sink, nil); err != nil {
		return err
	}
	el := time.Since(start)
	ps := p.Stats()
	fmt.Fprintf(tw, "probe: capture -> events\t%.2fM packets/s\t%d packets (%d SIP, %d RTP-like) in %s\n",
		float64(ps.Packets)/el.Seconds()/1e6, ps.Packets, ps.SIPMessages, ps.RTPLike, el.Round(time.Millisecond))

	// Rating: deck import, then pricing random numbers.
	var deckCSV bytes.Buffer
	if err := rating.GenerateDeckCSV(&deckCSV, *prefixes, 1); err != nil {
		return err
	}
	size := deckCSV.Len()
	start = time.Now()
	deck, err := rating.LoadDeck(&deckCSV, rating.DeckOptions{Name: "bench"})
	if err != nil {
		return err
	}
	fmt.Fprintf(tw, "rating: deck import\t%s\t%d prefixes, %.1f MB CSV\n", time.Since(start).Round(time.Millisecond), deck.Len(), float64(size)/1e6)
	rates := deck.Rates()
	rng := rand.New(rand.NewPCG(1, 2))
	numbers := make([]string, 4096)
	for i := range numbers {
		numbers[i] = rates[rng.IntN(len(rates))].Prefix + strconv.Itoa(1000000+rng.IntN(8999999))
	}
	const priced = 2_000_000
	start = time.Now()
	var units int64
	for i := 0; i < priced; i++ {
		r, err := deck.Price(numbers[i&4095], int64(i%600_000))
		if err == nil {
			units += r.Amount.Units
		}
	}
	el = time.Since(start)
	fmt.Fprintf(tw, "rating: price a CDR\t%.2fM CDRs/s\t%d CDRs on %d prefixes (checksum %d)\n", priced/el.Seconds()/1e6, priced, deck.Len(), units%1000)

	// The embedded pipeline end to end.
	sig := filepath.Join(dir, "signalling.pcap")
	if err := generate(&env{stdout: e.stdout, stderr: ioDiscard{}, log: e.log}, sig, synth.Options{Calls: *pipelineCalls, Seed: 2, NoRTP: true, CPS: 20}); err != nil {
		return err
	}
	start = time.Now()
	var out bytes.Buffer
	if err := replay(context.Background(), &env{stdout: &out, stderr: ioDiscard{}, log: e.log}, config.Default(), filepath.Join(dir, "data"), sig, false); err != nil {
		return err
	}
	el = time.Since(start)
	events := int64(0)
	fmt.Sscanf(out.String()[bytes.Index(out.Bytes(), []byte("packets, "))+len("packets, "):], "%d", &events)
	fmt.Fprintf(tw, "pipeline: replay (kfake -> collector -> chDB)\t%.0f events/s\t%d SIP events, %d calls, engines' start included, in %s\n",
		float64(events)/el.Seconds(), events, *pipelineCalls, el.Round(time.Millisecond))
	return tw.Flush()
}

type ioDiscard struct{}

func (ioDiscard) Write(p []byte) (int, error) { return len(p), nil }
