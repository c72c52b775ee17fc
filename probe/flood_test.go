package probe_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/hex"
	"os"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/gopacket/gopacket/layers"

	"github.com/trunkscope/trunkscope/event"
	"github.com/trunkscope/trunkscope/probe"
	"github.com/trunkscope/trunkscope/probe/internal/packettest"
	"github.com/trunkscope/trunkscope/probe/synth"
)

// TestFloodMemoryBounded: an INVITE flood with 1,000,000 distinct Call-IDs,
// mixed with a SYN flood carrying half messages and a flood of first
// fragments that never complete, keeps the probe's heap within its caps:
// every table evicts (and counts) rather than grows.
func TestFloodMemoryBounded(t *testing.T) {
	if testing.Short() {
		t.Skip("floods a million packets")
	}
	const (
		invites  = 1_000_000
		maxFlows = 4096
		fragMem  = 1 << 20
	)
	heap := func() uint64 {
		runtime.GC()
		var m runtime.MemStats
		runtime.ReadMemStats(&m)
		return m.HeapAlloc
	}
	// The packets are templates patched in place: a counter in the
	// Call-ID, the TCP source port, the IP identification. (The probe
	// does not check checksums, so the patches need not fix them.)
	inv := packettest.UDP(pbx, trunk, invite("flood-00000000@x", 200))
	callID := bytes.Index(inv, []byte("flood-")) + len("flood-")
	half := invite("half@x", 200)[:150]
	seg := packettest.TCP(pbx, trunk, 1000, packettest.SYN, half)
	frag := packettest.UDPFragments(pbx, trunk, invite("frag@x", 3000), 0, 1480, false)[0]
	var digits [4]byte

	before := heap()
	p := newProbe(t, probe.MaxTCPFlows(maxFlows), probe.MaxFragmentBytes(fragMem))
	sink := probe.SinkFunc(func(*event.SIP) error { return nil })
	var warm uint64
	ts := int64(1_700_000_000_000_000)
	for i := range invites {
		ts += 100 // 10,000 INVITEs a second: 320,000 within the 32 s retransmission window
		binary.BigEndian.PutUint32(digits[:], uint32(i))
		hex.Encode(inv[callID:callID+8], digits[:])
		if err := p.Packet(layers.LinkTypeRaw, ts, inv, sink); err != nil {
			t.Fatal(err)
		}
		if i%10 == 0 {
			binary.BigEndian.PutUint16(seg[20:22], uint16(i/10)) // a new source port
			seg[12] = byte(i / 10 >> 16)                         // and address, past 65,536 ports
			binary.BigEndian.PutUint16(frag[4:6], uint16(i/10))  // a new IP identification
			frag[13] = byte(i / 10 >> 16)
			_ = p.Packet(layers.LinkTypeRaw, ts, seg, sink)
			_ = p.Packet(layers.LinkTypeRaw, ts, frag, sink)
		}
		if i == invites/2 {
			warm = heap()
		}
	}
	after := heap()
	s := p.Stats()
	runtime.KeepAlive(p)

	if s.SIPUDP != invites || s.SIPRetransmissions != 0 || s.Duplicates != 0 {
		t.Errorf("INVITEs: %d events, %d marked retransmissions, %d duplicates", s.SIPUDP, s.SIPRetransmissions, s.Duplicates)
	}
	if s.RetransmissionEvicted == 0 || s.TCPEvicted == 0 || s.FragEvicted == 0 {
		t.Errorf("eviction counters did not move: retransmission %d, TCP %d, fragments %d",
			s.RetransmissionEvicted, s.TCPEvicted, s.FragEvicted)
	}
	if s.TCPFlows > maxFlows || s.FragBytes > fragMem {
		t.Errorf("over the caps: %d flows, %d fragment bytes", s.TCPFlows, s.FragBytes)
	}
	// The caps: the duplicate and retransmission tables (1 MiB each), the
	// fragment buffers, and per flow its struct, map entry and a buffer
	// holding the half message; a few MiB on top for the rest.
	caps := uint64(2<<20 + fragMem + maxFlows*1024)
	const slack = 4 << 20
	growth := int64(after) - int64(before)
	t.Logf("heap: %.1f MiB before, %.1f MiB after 500k INVITEs, %.1f MiB after 1M; caps %.1f MiB; %d retransmission, %d flow, %d fragment evictions",
		mib(before), mib(warm), mib(after), mib(caps), s.RetransmissionEvicted, s.TCPEvicted, s.FragEvicted)
	if growth > int64(caps+slack) {
		t.Errorf("heap grew %.1f MiB, over the caps (%.1f MiB) + %.1f MiB", float64(growth)/(1<<20), mib(caps), mib(slack))
	}
	if late := int64(after) - int64(warm); late > 1<<20 {
		t.Errorf("heap grew %.1f MiB between 500k and 1M INVITEs: state is not bounded", float64(late)/(1<<20))
	}
}

func mib(n uint64) float64 { return float64(n) / (1 << 20) }

// TestSyntheticCapture runs a generated capture through the probe: every SIP
// packet becomes an event, nothing is taken for a duplicate, and exactly
// the generator's INVITE retransmissions (calls that time out resend the
// INVITE, RFC 3261 Timer A) are flagged.
func TestSyntheticCapture(t *testing.T) {
	path := filepath.Join(t.TempDir(), "calls.pcap")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	truth, err := synth.Generate(f, synth.Options{Calls: 60, Seed: 7})
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	p := newProbe(t)
	var rec recorder
	if err := probe.ReadFile(context.Background(), path, p, &rec, nil); err != nil {
		t.Fatal(err)
	}
	want := 0
	for _, c := range truth.Calls {
		if c.Outcome == "timeout" {
			want += c.SIPMessages["INVITE"] - 1
		}
	}
	s := p.Stats()
	if int(s.SIPMessages) != truth.SIPPackets || s.Duplicates != 0 || int(s.RTPLike) != truth.RTPPackets || s.Dropped() != 0 {
		t.Errorf("%d SIP packets, %d RTP in the capture; stats %+v", truth.SIPPackets, truth.RTPPackets, s)
	}
	if int(s.SIPRetransmissions) != want {
		t.Errorf("%d events flagged as retransmissions, want the %d INVITEs resent", s.SIPRetransmissions, want)
	}
	checkAccounting(t, s)
}
