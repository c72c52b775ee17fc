package probe

import (
	"fmt"
	"time"

	"github.com/trunkscope/trunkscope/probe/ipfrag"
)

// Opt configures a Probe.
type Opt interface{ apply(*cfg) }

type opt func(*cfg)

func (o opt) apply(c *cfg) { o(c) }

type cfg struct {
	probeID           string
	maxTCPFlows       int
	maxTCPBuffer      int
	tcpIdle           time.Duration
	maxTCPOutOfOrder  int
	tcpReorderTimeout time.Duration
	dedupWindow       time.Duration
	maxDedup          int
	rtxWindow         time.Duration
	maxRtx            int
	frag              ipfrag.Config
	media             MediaHandler
}

func defaultCfg() cfg {
	return cfg{
		probeID:           "probe-1",
		maxTCPFlows:       65536,
		maxTCPBuffer:      64 << 10,
		tcpIdle:           5 * time.Minute,
		maxTCPOutOfOrder:  4 << 20,
		tcpReorderTimeout: 2 * time.Second,
		dedupWindow:       50 * time.Millisecond,
		maxDedup:          1 << 14,
		rtxWindow:         32 * time.Second,
		maxRtx:            1 << 16,
		frag:              ipfrag.DefaultConfig(),
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
	case c.maxTCPOutOfOrder < 0:
		return fmt.Errorf("probe: MaxTCPOutOfOrder is %d, must not be negative", c.maxTCPOutOfOrder)
	case c.tcpReorderTimeout <= 0:
		return fmt.Errorf("probe: TCPReorderTimeout is %v, must be positive", c.tcpReorderTimeout)
	case c.dedupWindow < 0 || c.dedupWindow > 0 && c.dedupWindow < time.Microsecond:
		// Capture timestamps count microseconds.
		return fmt.Errorf("probe: DedupWindow is %v, must be 0 (off) or at least 1µs", c.dedupWindow)
	case c.maxDedup < minRecent || c.maxDedup > maxRecent:
		return fmt.Errorf("probe: MaxDedupEntries is %d, must be %d to %d", c.maxDedup, minRecent, maxRecent)
	case c.rtxWindow < 0 || c.rtxWindow > 0 && c.rtxWindow < time.Microsecond:
		return fmt.Errorf("probe: RetransmissionWindow is %v, must be 0 (off) or at least 1µs", c.rtxWindow)
	case c.maxRtx < minRecent || c.maxRtx > maxRecent:
		return fmt.Errorf("probe: MaxRetransmissionEntries is %d, must be %d to %d", c.maxRtx, minRecent, maxRecent)
	case c.frag.MaxDatagrams < 1:
		return fmt.Errorf("probe: MaxFragmentDatagrams is %d, must be at least 1", c.frag.MaxDatagrams)
	case c.frag.MaxBytes < ipfrag.MaxDatagramLen:
		return fmt.Errorf("probe: MaxFragmentBytes is %d, must be at least %d", c.frag.MaxBytes, ipfrag.MaxDatagramLen)
	case c.frag.Timeout <= 0:
		return fmt.Errorf("probe: FragmentTimeout is %v, must be positive", c.frag.Timeout)
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

// MaxTCPOutOfOrder caps the bytes of TCP segments held, across all flows,
// because they arrived ahead of a missing one, overriding the default 4
// MiB. Each flow also holds at most 8 segments and MaxTCPBuffer bytes. A
// segment that does not fit makes its flow give up on its hole (counted in
// tcp_gap and tcp_reorder_overflow). 0 turns reordering off: every hole is
// a gap at once, as before this queue existed.
func MaxTCPOutOfOrder(n int) Opt { return opt(func(c *cfg) { c.maxTCPOutOfOrder = n }) }

// TCPReorderTimeout is how long, in capture time, a flow holds segments
// that arrived ahead of a missing one before it gives up on the missing one
// and resynchronises on what it holds, overriding the default 2 s. Capture
// reordering (two interfaces or directions merged into one capture) is
// sub-millisecond; the longer default also waits out a TCP retransmission
// of a segment lost before the tap (RFC 6298: an initial RTO of 1 s, at
// least 200 ms in Linux). Messages behind the hole are delayed by up to
// this much, never lost to it.
func TCPReorderTimeout(d time.Duration) Opt { return opt(func(c *cfg) { c.tcpReorderTimeout = d }) }

// DedupWindow sets how close in capture time two identical IP packets must
// be for the second to be a duplicate, overriding the default 50 ms; 0
// turns duplicate suppression off. Duplicates come from capturing one
// packet twice: on two taps or SPAN sources (microseconds apart), or on
// loopback and "any", where AF_PACKET shows each packet on its way out and
// in. They are counted (duplicates) and dropped before they become events
// or RTP observations. A retransmission is not a duplicate: SIP's first
// retransmission comes T1 = 500 ms later (RFC 3261 §17.1.1.2), a TCP one
// after an RTO of 200 ms or more, both well outside the window.
func DedupWindow(d time.Duration) Opt { return opt(func(c *cfg) { c.dedupWindow = d }) }

// MaxDedupEntries sizes the duplicate filter's table, overriding the
// default 16384 entries (16 bytes each, 256 KiB: it stays in L2 cache,
// which measured 2% faster per packet than 1 MiB), rounded up to a power of
// two. The table never grows: under more packets per DedupWindow than
// entries the oldest are forgotten (dedup_evicted), which only loses
// duplicates that arrive late; taps' copies arrive microseconds apart.
func MaxDedupEntries(n int) Opt { return opt(func(c *cfg) { c.maxDedup = n }) }

// RetransmissionWindow sets how long a SIP message is remembered to mark
// its retransmissions (event.FlagRetransmission), overriding the default
// 32 s: 64*T1, the longest a transaction retransmits (RFC 3261 Timers B, F
// and H). 0 turns the marking off.
func RetransmissionWindow(d time.Duration) Opt { return opt(func(c *cfg) { c.rtxWindow = d }) }

// MaxRetransmissionEntries sizes the retransmission table, overriding the
// default 65536 messages (1 MiB), rounded up to a power of two: a second of
// 2,000 messages/s kept for the 32 s window. Beyond it the oldest are
// forgotten (sip_retransmission_evicted) and a late retransmission of one
// of them is not marked.
func MaxRetransmissionEntries(n int) Opt { return opt(func(c *cfg) { c.maxRtx = n }) }

// FragmentTimeout drops an IP datagram still incomplete this long after its
// first fragment, in capture time, overriding the default 30 s (Linux's
// ipfrag_time).
func FragmentTimeout(d time.Duration) Opt { return opt(func(c *cfg) { c.frag.Timeout = d }) }

// MaxFragmentDatagrams caps the IP datagrams being reassembled at once,
// overriding the default 1024; beyond it the oldest is dropped
// (frag_evicted).
func MaxFragmentDatagrams(n int) Opt { return opt(func(c *cfg) { c.frag.MaxDatagrams = n }) }

// MaxFragmentBytes caps the reassembly buffers of all datagrams together,
// overriding the default 4 MiB (Linux's ipfrag_high_thresh); at least
// 65535. The oldest datagrams are dropped to make room (frag_evicted).
func MaxFragmentBytes(n int) Opt { return opt(func(c *cfg) { c.frag.MaxBytes = n }) }

// Media sets the handler that sees every SIP event with its body and every
// UDP datagram that is not SIP (see MediaHandler), overriding the default
// of none.
func Media(h MediaHandler) Opt { return opt(func(c *cfg) { c.media = h }) }
