package synth

import (
	"fmt"
	"math/rand/v2"
	"time"
)

// Incident degrades one trunk for a stretch of the capture, for alerting
// tests: calls starting in [From, To) after Options.Start either end with
// a final Code (503 or 408: a burst of rejections or timeouts), or, when
// answered, lose a Loss fraction of their RTP packets in both directions
// (a MOS collapse). Share is the fraction of the trunk's calls in the
// window that are affected (default 1). Incidents draw from random
// streams of their own: a capture without incidents is byte for byte the
// capture it always was.
type Incident struct {
	Trunk    string
	From, To time.Duration
	Code     int
	Share    float64
	Loss     float64
}

func (o Options) checkIncidents() error {
	for i, in := range o.Incidents {
		found := false
		for _, t := range o.Trunks {
			found = found || t.Name == in.Trunk
		}
		switch {
		case !found:
			return fmt.Errorf("synth: incident %d: no trunk %q", i, in.Trunk)
		case in.To <= in.From || in.From < 0:
			return fmt.Errorf("synth: incident %d: empty or negative window %s..%s", i, in.From, in.To)
		case in.Code != 0 && in.Code != 503 && in.Code != 408:
			return fmt.Errorf("synth: incident %d: code %d: want 503 or 408", i, in.Code)
		case in.Share < 0 || in.Share > 1 || in.Loss < 0 || in.Loss >= 1:
			return fmt.Errorf("synth: incident %d: share and loss are fractions", i)
		case in.Code == 0 && in.Loss == 0:
			return fmt.Errorf("synth: incident %d: neither a code nor a loss", i)
		}
	}
	return nil
}

// incidentRNG is the random stream of incident draws.
func incidentRNG(seed int64) *rand.Rand {
	return rand.New(rand.NewPCG(uint64(seed), 0x696e636964656e74))
}

// applyIncidents changes a call's planned outcome and returns the RTP loss
// of its streams.
func (g *generator) applyIncidents(out outcome, ti int, startUS int64) (outcome, float64) {
	if len(g.o.Incidents) == 0 {
		return out, 0
	}
	if g.irng == nil {
		g.irng = incidentRNG(g.o.Seed)
	}
	at := time.Duration(startUS-g.o.Start.UnixMicro()) * time.Microsecond
	loss := 0.0
	for _, in := range g.o.Incidents {
		if in.Trunk != g.o.Trunks[ti].Name || at < in.From || at >= in.To {
			continue
		}
		share := in.Share
		if share == 0 {
			share = 1
		}
		if g.irng.Float64() >= share {
			continue
		}
		switch in.Code {
		case 503:
			out = outRejected
		case 408:
			out = outNoAnswer408
		}
		loss = max(loss, in.Loss)
	}
	return out, loss
}
