package synth

import (
	"net/netip"
	"time"

	"github.com/trunkscope/trunkscope/event"
)

// StreamReports calls fn with the RTP stream reports a probe would publish
// for the answered calls in t had it seen their media: per call, one G.711
// stream each way, an interval report every interval of media and a final
// report. It lets benchmarks build a day's event log (about ten reports per
// answered call) without writing the hundreds of millions of RTP packets
// behind it. The report passed to fn is reused: copy what must outlive it.
func StreamReports(t *Truth, interval time.Duration, probeID string, fn func(*event.RTPReport) error) error {
	ids := event.NewIDHasher()
	step := interval.Microseconds()
	if step <= 0 {
		step = 10_000_000
	}
	r := &event.RTPReport{
		Header:      event.Header{Version: event.Version, ProbeID: []byte(probeID)},
		PayloadType: 0,
		Codec:       []byte("PCMU"),
		ClockHz:     8000,
		MOSx1000:    4410,
	}
	r.MOSFixedx1000, r.MOSAdaptivex1000 = r.MOSx1000, r.MOSx1000
	caller := netip.AddrPortFrom(netip.AddrFrom4([4]byte{10, 1, 0, 1}), 0)
	callee := netip.AddrPortFrom(netip.AddrFrom4([4]byte{192, 0, 2, 1}), 0)
	for i := range t.Calls {
		c := &t.Calls[i]
		if c.AnswerUS == 0 || c.EndUS <= c.AnswerUS {
			continue
		}
		port := uint16(10000 + 2*(i%20000))
		r.CallID = []byte(c.CallID)
		for dir := uint8(event.DirFromCaller); dir <= event.DirToCaller; dir++ {
			r.Direction = dir
			r.SSRC = uint32(i)<<1 | uint32(dir)
			r.Src, r.Dst = netip.AddrPortFrom(caller.Addr(), port), netip.AddrPortFrom(callee.Addr(), port)
			if dir == event.DirToCaller {
				r.Src, r.Dst = r.Dst, r.Src
			}
			// Interval reports, then the final one covering the stream.
			r.JitterMeanUS, r.JitterMaxUS, r.MaxDeltaUS = 400, 1200, 21_000
			var seq uint32
			emit := func(from, to int64, final bool) error {
				r.Final, r.Seq = final, seq
				r.FirstUS, r.LastUS, r.TimeUS = from, to, to
				pkts := uint64((to - from) / 20_000)
				r.Packets, r.Expected = pkts, pkts
				ids.SetRTPID(r)
				seq++
				return fn(r)
			}
			for from := c.AnswerUS; from+step < c.EndUS; from += step {
				if err := emit(from, from+step, false); err != nil {
					return err
				}
			}
			if err := emit(c.AnswerUS, c.EndUS, true); err != nil {
				return err
			}
		}
	}
	return nil
}
