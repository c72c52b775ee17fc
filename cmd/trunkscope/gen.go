package main

import (
	"fmt"
	"os"
	"time"

	"github.com/trunkscope/trunkscope/probe/synth"
)

func cmdGen(e *env, args []string) error {
	fs := flagSet(e, "gen", "--out FILE.pcap [flags]", `Writes a synthetic but realistic capture: Ethernet/IPv4/UDP SIP and G.711 RTP
both ways (20 ms packets) across the built-in configuration's trunks, with
answered, busy (486), rejected (503), no-answer (received 408 and 480),
cancelled and timed-out (no final response) calls. The ground truth (per call:
trunk, outcome, durations) is written next to it as FILE.truth.json.`)
	out := fs.String("out", "", "capture file to write (required)")
	calls := fs.Int("calls", 100, "number of calls")
	seed := fs.Int64("seed", 1, "random seed: the same seed gives the same bytes")
	mean := fs.Duration("mean-duration", 20*time.Second, "mean talk time of answered calls")
	cps := fs.Float64("cps", 2, "mean call arrival rate (calls per second)")
	noRTP := fs.Bool("no-rtp", false, "signalling only: small, quick captures for large loads")
	if err := parse(fs, args); err != nil {
		return err
	}
	if *out == "" {
		return usagef("--out is required")
	}
	if *calls < 1 {
		return usagef("--calls must be at least 1")
	}
	return generate(e, *out, synth.Options{Calls: *calls, Seed: *seed, MeanDuration: *mean, CPS: *cps, NoRTP: *noRTP})
}

func generate(e *env, out string, o synth.Options) error {
	f, err := os.Create(out)
	if err != nil {
		return err
	}
	truth, err := synth.Generate(f, o)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("writing %s: %w", out, err)
	}
	tp := synth.TruthPath(out)
	tf, err := os.Create(tp)
	if err != nil {
		return err
	}
	err = truth.WriteJSON(tf)
	if cerr := tf.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("writing %s: %w", tp, err)
	}
	fmt.Fprintf(e.stderr, "gen: %d calls, %d packets (%d SIP, %d RTP) -> %s, ground truth -> %s\n",
		len(truth.Calls), truth.Packets, truth.SIPPackets, truth.RTPPackets, out, tp)
	return nil
}
