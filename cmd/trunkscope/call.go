package main

import (
	"bufio"
	"context"
	"errors"
	"os"

	"github.com/trunkscope/trunkscope/collector/ladder"
)

func cmdCall(e *env, args []string) error {
	if len(args) == 0 || (args[0] != "pcap" && args[0] != "--help" && args[0] != "-h") {
		return usagef("usage: trunkscope call pcap CALL-ID > call.pcap")
	}
	if args[0] != "pcap" {
		args = append([]string{"--help"}, args[1:]...)
	} else {
		args = args[1:]
	}
	fs := flagSet(e, "call pcap", "CALL-ID [flags] > call.pcap", `Writes one call's SIP messages as a pcap file (Wireshark, tshark), to attach
to a carrier ticket: every stored message of the call and of its correlated
legs, in order, as Ethernet/IP/UDP or TCP frames rebuilt from the raw message,
its addresses, ports, transport and capture time (MAC addresses are
synthetic; the store keeps no link layer). RTP is not included: the probe
keeps stream reports, not media packets.

Reads the store when the data directory is free; while 'trunkscope run' owns
it, reads through that service's API (or pass --api URL).

Example: trunkscope call pcap 3c2a7f1e@192.0.2.10 > ticket-4711.pcap`)
	var c clientFlags
	c.register(fs)
	out := fs.String("out", "", "write to this file instead of stdout")
	if err := parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return usagef("want one CALL-ID")
	}
	if *out == "" {
		if f, ok := e.stdout.(*os.File); ok {
			if st, err := f.Stat(); err == nil && st.Mode()&os.ModeCharDevice != 0 {
				return usagef("stdout is a terminal: redirect it (> call.pcap) or pass --out FILE")
			}
		}
	}
	ctx := context.Background()
	call, err := loadCall(ctx, e, &c, fs.Arg(0))
	if err != nil {
		return err
	}
	w := e.stdout
	if *out != "" {
		f, err := os.Create(*out)
		if err != nil {
			return err
		}
		defer f.Close()
		w = f
	}
	bw := bufio.NewWriter(w)
	if err := ladder.WritePcap(bw, call.Messages); err != nil {
		return err
	}
	if err := bw.Flush(); err != nil {
		return err
	}
	if len(call.Messages) == 0 {
		return errors.New("the call has legs but no stored SIP messages: the pcap is empty")
	}
	e.log.Debug("pcap written", "messages", len(call.Messages))
	return nil
}
