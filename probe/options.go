package probe

import (
	"fmt"
	"time"
)

// Opt configures a Probe.
type Opt interface{ apply(*cfg) }

type opt func(*cfg)

func (o opt) apply(c *cfg) { o(c) }

type cfg struct {
	probeID      string
	maxTCPFlows  int
	maxTCPBuffer int
	tcpIdle      time.Duration
}

func defaultCfg() cfg {
	return cfg{
		probeID:      "probe-1",
		maxTCPFlows:  65536,
		maxTCPBuffer: 64 << 10,
		tcpIdle:      5 * time.Minute,
	}
}

// maxProbeIDLen keeps the ID, which every event carries, short.
const maxProbeIDLen = 255

// Bounds on MaxTCPBuffer: below a kilobyte no INVITE with SDP fits; above
// 64 MiB a flood of flows could take the machine's memory.
const (
	minTCPBuffer = 1 << 10
	maxTCPBuffer = 64 << 20
)

func (c *cfg) validate() error {
	switch {
	case c.probeID == "":
		return fmt.Errorf("probe: ProbeID is empty")
	case len(c.probeID) > maxProbeIDLen:
		return fmt.Errorf("probe: ProbeID is %d bytes, over %d", len(c.probeID), maxProbeIDLen)
	case c.maxTCPFlows < 1:
		return fmt.Errorf("probe: MaxTCPFlows is %d, must be at least 1", c.maxTCPFlows)
	case c.maxTCPBuffer < minTCPBuffer || c.maxTCPBuffer > maxTCPBuffer:
		return fmt.Errorf("probe: MaxTCPBuffer is %d bytes, must be %d to %d", c.maxTCPBuffer, minTCPBuffer, maxTCPBuffer)
	case c.tcpIdle <= 0:
		return fmt.Errorf("probe: TCPIdle is %v, must be positive", c.tcpIdle)
	}
	return nil
}

// ProbeID names this probe instance in every event it emits, overriding the
// default "probe-1". It is part of each event's ID, so two probes that see
// the same packet emit two distinct events; give every probe its own.
func ProbeID(id string) Opt { return opt(func(c *cfg) { c.probeID = id }) }

// MaxTCPFlows caps the TCP flows (one per direction of a connection) tracked
// for SIP reassembly, overriding the default 65536. Beyond it the least
// recently active flow is evicted and counted, so a SYN flood costs at most
// this many flows of memory.
func MaxTCPFlows(n int) Opt { return opt(func(c *cfg) { c.maxTCPFlows = n }) }

// MaxTCPBuffer caps the bytes buffered per TCP flow while a SIP message is
// incomplete, overriding the default 64 KiB, which holds any sane SIP
// message (sipscan bounds the header section to 64 KiB too). A message that
// would need more is dropped and counted.
func MaxTCPBuffer(n int) Opt { return opt(func(c *cfg) { c.maxTCPBuffer = n }) }

// TCPIdle expires a TCP flow that has carried no segment for this long in
// capture time, overriding the default 5 minutes. Expiry is cheap to recover
// from: the connection's next message re-opens the flow, because a message
// that follows a quiet period starts a segment. It costs only a message
// that was half-received when the flow went quiet.
func TCPIdle(d time.Duration) Opt { return opt(func(c *cfg) { c.tcpIdle = d }) }
