package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/url"

	"github.com/trunkscope/trunkscope/collector/api"
	"github.com/trunkscope/trunkscope/collector/ladder"
)

func cmdLadder(e *env, args []string) error {
	fs := flagSet(e, "ladder", "CALL-ID [flags]", `Draws one call's SIP flow in the terminal, like sngrep: a column per host
(address:port), an arrow per message with its method or status, the time since
the first message and since the previous one, and a summary of each SDP body.
Legs an SBC correlated with the call (X-CID, HEP correlation id) are included.

Reads the store when the data directory is free; while 'trunkscope run' owns
it, reads through that service's API (or pass --api URL).

Example: trunkscope ladder 3c2a7f1e@192.0.2.10`)
	var c clientFlags
	c.register(fs)
	if err := parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return usagef("want one CALL-ID")
	}
	call, err := loadCall(context.Background(), e, &c, fs.Arg(0))
	if err != nil {
		return err
	}
	for _, l := range call.Legs {
		fmt.Fprintf(e.stdout, "leg %d %s  %s %s  %s -> %s  %s %d  pdd %d ms  duration %d ms\n", l.Leg, l.CallID, l.Trunk,
			l.Direction, l.Caller, l.Callee, l.Outcome, l.FinalCode, l.PDDMs, l.DurationMs)
	}
	if len(call.Legs) > 0 {
		fmt.Fprintln(e.stdout)
	}
	return ladder.Render(e.stdout, call.Messages)
}

// loadCall reads a call from the store or through the API.
func loadCall(ctx context.Context, e *env, c *clientFlags, id string) (*api.Call, error) {
	r, err := c.open(ctx, e)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	var call *api.Call
	if r.api != nil {
		var buf bytes.Buffer
		if err := r.api.get(ctx, "/api/v1/calls/"+url.PathEscape(id), &buf); err != nil {
			return nil, err
		}
		call = &api.Call{}
		if err := json.Unmarshal(buf.Bytes(), call); err != nil {
			return nil, fmt.Errorf("API answer: %w", err)
		}
	} else if call, err = api.LoadCall(ctx, r.s.st, r.s.db(), id); err != nil {
		return nil, err
	}
	if call == nil {
		return nil, fmt.Errorf("no call with Call-ID %q is stored", id)
	}
	return call, nil
}
