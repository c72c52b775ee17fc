package mediatrack

import (
	"errors"
	"fmt"
	"time"

	"github.com/trunkscope/trunkscope/probe/media"
)

// Opt configures a Tracker.
type Opt interface{ apply(*cfg) }

type opt func(*cfg)

func (o opt) apply(c *cfg) { o(c) }

type cfg struct {
	probeID    string
	interval   time.Duration
	idle       time.Duration
	endLinger  time.Duration
	maxStreams int
	wireshark  bool
	heuristic  bool
	mediaOpts  []media.Opt
	mediaSet   bool // MediaOptions was given, even empty
	table      *media.Table
}

func defaultCfg() cfg {
	return cfg{
		probeID:    "probe-1",
		interval:   10 * time.Second,
		idle:       20 * time.Second,
		endLinger:  2 * time.Second,
		maxStreams: 100_000,
		heuristic:  true,
	}
}

// Bounds. Stream times are kept as 32-bit milliseconds compared modulo
// 2^32, which is exact for spans under 24 days; a day is far beyond any
// sensible interval or timeout. A stream's slot number takes 21 bits of
// its index entry (see index), hence the cap of some 2 million streams:
// 1 GB, twenty times the default.
const (
	maxSpan       = 24 * time.Hour
	maxMaxStreams = 1<<21 - 2
	maxProbeIDLen = 255 // as probe.ProbeID
)

func (c *cfg) validate() error {
	switch {
	case c.probeID == "":
		return errors.New("mediatrack: ProbeID is empty")
	case len(c.probeID) > maxProbeIDLen:
		return fmt.Errorf("mediatrack: ProbeID is %d bytes, over %d", len(c.probeID), maxProbeIDLen)
	case c.interval < time.Second || c.interval > maxSpan:
		return fmt.Errorf("mediatrack: Interval is %v, must be 1s to %v", c.interval, maxSpan)
	case c.idle < time.Second || c.idle > maxSpan:
		return fmt.Errorf("mediatrack: Idle is %v, must be 1s to %v", c.idle, maxSpan)
	case c.endLinger < 0 || c.endLinger > c.idle:
		return fmt.Errorf("mediatrack: EndLinger is %v, must be 0 to Idle (%v)", c.endLinger, c.idle)
	case c.maxStreams < 1 || c.maxStreams > maxMaxStreams:
		return fmt.Errorf("mediatrack: MaxStreams is %d, must be 1 to %d", c.maxStreams, maxMaxStreams)
	case c.table != nil && c.mediaSet:
		return errors.New("mediatrack: MediaTable and MediaOptions both set: options apply to a table New creates")
	}
	return nil
}

// ProbeID names this probe in every report, overriding the default
// "probe-1". It is part of each report's ID; give it the probe's own ID
// (probe.ProbeID) so that SIP events and RTP reports agree.
func ProbeID(id string) Opt { return opt(func(c *cfg) { c.probeID = id }) }

// Interval sets how often, in capture time, a stream reports the span since
// its previous report, overriding the default 10 s (DESIGN.md: "report
// every interval (default 10 s) and at the stream's end"). Boundaries count
// from the stream's first packet; a report is made by the first packet at
// or past a boundary, so a stream that stops reports no empty intervals.
func Interval(d time.Duration) Opt { return opt(func(c *cfg) { c.interval = d }) }

// Idle ends a stream that has had no packet for this long in capture time,
// with its final report, overriding the default 20 s. It is the end of
// every stream whose BYE the probe does not see, and of heuristic streams,
// which have no signalling at all. Silence suppression (RFC 3389) pauses a
// stream for seconds, a call on hold for longer: too short an Idle splits
// one stream into several reports with the same SSRC.
func Idle(d time.Duration) Opt { return opt(func(c *cfg) { c.idle = d }) }

// EndLinger sets how long a stream outlives its call's BYE, overriding the
// default 2 s: packets in flight when the BYE passes (and the other side's
// until it processes the BYE) still count. A stream of an ended call ends
// once it has been quiet for EndLinger after the BYE; if packets keep
// coming, it stays until they stop. At most Idle.
func EndLinger(d time.Duration) Opt { return opt(func(c *cfg) { c.endLinger = d }) }

// MaxStreams caps the streams tracked at once, overriding the default
// 100,000 (some 50 MB: DESIGN.md budgets 512 bytes a stream). Beyond it the
// least recently active stream is ended early, with its final report, and
// counted (ended_cap), so that a flood of made-up SSRCs or ports costs at
// most this much memory.
func MaxStreams(n int) Opt { return opt(func(c *cfg) { c.maxStreams = n }) }

// WiresharkJitter makes every stream's jitter follow Wireshark 4.0 instead
// of RFC 3550 (rtp.Options.WiresharkJitter), overriding the default off.
// Set it to compare figures with tshark; the RFC 3550 default is the
// listener's view, without the spikes Wireshark shows after each DTMF
// digit.
func WiresharkJitter(on bool) Opt { return opt(func(c *cfg) { c.wireshark = on }) }

// Heuristic sets whether RTP that no SDP maps is tracked, overriding the
// default on. Such a stream is keyed by its addresses and SSRC like any
// other, has an empty Call-ID, and takes its codec and clock from its
// first packet's static payload type. Like Wireshark's rtp_udp heuristic
// it needs rtp.LooksLikeRTP and, unlike it, both ports at or above 1024:
// below live DNS, NetBIOS and DHCP, whose packets pass the header checks
// often enough to make phantom streams. Turn it off where signalling is
// always visible and stray UDP is common.
func Heuristic(on bool) Opt { return opt(func(c *cfg) { c.heuristic = on }) }

// MediaOptions configures the media.Table that New creates to map SDP
// addresses to calls (media.MaxEntries, media.TTL, media.Linger),
// overriding media's defaults.
func MediaOptions(opts ...media.Opt) Opt {
	return opt(func(c *cfg) { c.mediaOpts, c.mediaSet = append(c.mediaOpts, opts...), true })
}

// MediaTable makes the Tracker learn into and look up in t instead of a
// table of its own, for a caller that reads the table too. The Tracker
// calls Learn, End and Advance on it; like the Tracker it is not safe for
// concurrent use.
func MediaTable(t *media.Table) Opt { return opt(func(c *cfg) { c.table = t }) }
