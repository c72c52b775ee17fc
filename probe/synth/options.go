package synth

import (
	"fmt"
	"math"
	"net/netip"
	"time"
)

// Trunk is one SIP peer of the platform.
type Trunk struct {
	Name      string
	Direction string         // "outbound" (we send INVITEs to the trunk) or "inbound" (the trunk sends INVITEs to us)
	Addr      netip.AddrPort // the trunk's SIP address, e.g. 198.51.100.10:5060
	// Prefixes are E.164 destination prefixes (digits, no '+') used to build
	// callee numbers for outbound calls; for inbound trunks they are our DIDs.
	Prefixes []string
}

// Options control Generate. Zero values select the documented defaults.
type Options struct {
	Calls        int
	Seed         int64
	MeanDuration time.Duration  // mean talk time of answered calls, default 20s
	CPS          float64        // mean call arrival rate (Poisson), default 2
	NoRTP        bool           // omit media packets
	Start        time.Time      // default 2026-01-05T09:00:00Z
	Platform     netip.AddrPort // our SBC, default 10.0.0.10:5060
	Trunks       []Trunk        // default DefaultTrunks()
	Incidents    []Incident     // degraded stretches (incident.go)
}

const (
	dirOutbound = "outbound"
	dirInbound  = "inbound"
)

// DefaultTrunks returns three outbound carriers and one inbound DID trunk.
// A fresh slice is returned each time so callers may modify it.
func DefaultTrunks() []Trunk {
	return []Trunk{
		{Name: "carrier-a", Direction: dirOutbound, Addr: netip.MustParseAddrPort("198.51.100.10:5060"),
			Prefixes: []string{"44", "447", "4420", "33", "336"}},
		{Name: "carrier-b", Direction: dirOutbound, Addr: netip.MustParseAddrPort("203.0.113.20:5060"),
			Prefixes: []string{"49", "4915", "4930", "1", "1212"}},
		{Name: "carrier-c", Direction: dirOutbound, Addr: netip.MustParseAddrPort("192.0.2.40:5060"),
			Prefixes: []string{"34", "346", "39", "393", "31"}},
		{Name: "did-in", Direction: dirInbound, Addr: netip.MustParseAddrPort("192.0.2.80:5060"),
			Prefixes: []string{"3120555"}},
	}
}

// withDefaults fills in defaults and rejects options that cannot be put on
// the wire (IPv6, missing ports, ambiguous trunk addresses).
func (o Options) withDefaults() (Options, error) {
	if o.Calls < 0 {
		return o, fmt.Errorf("synth: options: negative call count %d", o.Calls)
	}
	if o.MeanDuration <= 0 {
		o.MeanDuration = 20 * time.Second
	}
	if math.IsNaN(o.CPS) || math.IsInf(o.CPS, 0) {
		return o, fmt.Errorf("synth: options: invalid CPS %v", o.CPS)
	}
	if o.CPS <= 0 {
		o.CPS = 2
	}
	if o.Start.IsZero() {
		o.Start = time.Date(2026, 1, 5, 9, 0, 0, 0, time.UTC)
	}
	// pcap stores microseconds; truncating keeps truth and capture identical.
	o.Start = o.Start.UTC().Truncate(time.Microsecond)
	if !o.Platform.IsValid() {
		o.Platform = netip.MustParseAddrPort("10.0.0.10:5060")
	}
	var err error
	if o.Platform, err = checkAddr(o.Platform); err != nil {
		return o, fmt.Errorf("synth: options: platform: %w", err)
	}
	if len(o.Trunks) == 0 {
		o.Trunks = DefaultTrunks()
	} else {
		o.Trunks = append([]Trunk(nil), o.Trunks...)
	}
	seen := map[netip.AddrPort]string{o.Platform: "platform"}
	for i := range o.Trunks {
		t := &o.Trunks[i]
		if t.Addr, err = checkAddr(t.Addr); err != nil {
			return o, fmt.Errorf("synth: options: trunk %q: %w", t.Name, err)
		}
		if other, dup := seen[t.Addr]; dup {
			return o, fmt.Errorf("synth: options: trunk %q: address %s already used by %s", t.Name, t.Addr, other)
		}
		seen[t.Addr] = fmt.Sprintf("trunk %q", t.Name)
		if t.Direction != dirOutbound && t.Direction != dirInbound {
			return o, fmt.Errorf("synth: options: trunk %q: direction %q is neither %q nor %q", t.Name, t.Direction, dirOutbound, dirInbound)
		}
		if len(t.Prefixes) == 0 {
			return o, fmt.Errorf("synth: options: trunk %q: no prefixes", t.Name)
		}
		for _, p := range t.Prefixes {
			if !isDigits(p) {
				return o, fmt.Errorf("synth: options: trunk %q: prefix %q is not all digits", t.Name, p)
			}
		}
	}
	return o, o.checkIncidents()
}

func checkAddr(ap netip.AddrPort) (netip.AddrPort, error) {
	a := ap.Addr().Unmap()
	if !a.Is4() {
		return ap, fmt.Errorf("address %s is not IPv4", ap)
	}
	if ap.Port() == 0 {
		return ap, fmt.Errorf("address %s has no port", ap)
	}
	return netip.AddrPortFrom(a, ap.Port()), nil
}

func isDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}
