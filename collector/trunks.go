package collector

import (
	"net/netip"
	"slices"

	"github.com/trunkscope/trunkscope/config"
)

// Direction of a leg as seen from our platform.
const (
	Inbound  = "inbound"  // the trunk sent the INVITE to us
	Outbound = "outbound" // we sent the INVITE to the trunk
	Unknown  = "unknown"  // no configured trunk on either side
)

// Trunks resolves a leg's trunk and direction from the INVITE's addresses.
type Trunks struct {
	trunks    []config.Trunk
	numbering config.Numbering
}

// NewTrunks indexes the configured trunks; n is the numbering of numbers on
// no trunk or on trunks without rules of their own.
func NewTrunks(ts []config.Trunk, n config.Numbering) *Trunks {
	return &Trunks{trunks: ts, numbering: n}
}

// Numbering returns the numbering rules of a trunk.
func (t *Trunks) Numbering(trunk string) config.Numbering {
	for i := range t.trunks {
		if t.trunks[i].Name == trunk && t.trunks[i].Numbering != nil {
			return *t.trunks[i].Numbering
		}
	}
	return t.numbering
}

// Resolve matches the INVITE's destination first (an outbound leg: we call
// the trunk), then its source (inbound). The most specific prefix wins when
// trunks overlap. captureID and node are the HEP sender's (zero for
// captured packets); trunks restricted to HEP senders match only theirs.
func (t *Trunks) Resolve(src, dst netip.AddrPort, captureID uint32, node string) (trunk, direction string) {
	if name := t.match(dst, captureID, node); name != "" {
		return name, Outbound
	}
	if name := t.match(src, captureID, node); name != "" {
		return name, Inbound
	}
	return "", Unknown
}

func (t *Trunks) match(ap netip.AddrPort, captureID uint32, node string) string {
	best, bestBits := "", -1
	a := ap.Addr().Unmap()
	for i := range t.trunks {
		tr := &t.trunks[i]
		if len(tr.Ports) > 0 && !slices.Contains(tr.Ports, ap.Port()) {
			continue
		}
		if (len(tr.HEPCaptureIDs) > 0 || len(tr.HEPNodes) > 0) &&
			!slices.Contains(tr.HEPCaptureIDs, captureID) && !slices.Contains(tr.HEPNodes, node) {
			continue
		}
		for _, p := range tr.Prefixes {
			if p.Contains(a) && p.Bits() > bestBits {
				best, bestBits = tr.Name, p.Bits()
			}
		}
	}
	return best
}
