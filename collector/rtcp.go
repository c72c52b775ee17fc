package collector

import (
	"encoding/hex"
	"fmt"

	"github.com/trunkscope/trunkscope/bus"
	"github.com/trunkscope/trunkscope/event"
	"github.com/trunkscope/trunkscope/probe/rtcp"
)

// consumeRTCP parses an RTCP event (binary compound or HEP JSON) into one
// row per sender report, reception report block and XR VoIP Metrics block.
// Like RTP reports it is stateless for the collector.
func (c *Collector) consumeRTCP(rec bus.Record) {
	var ev event.RTCP
	if err := event.DecodeRTCP(rec.Value, &ev); err != nil {
		c.stats.DecodeErrors.Add(1)
		c.log.Warn("undecodable RTCP event skipped", "partition", rec.Partition, "offset", rec.Offset, "err", err)
		return
	}
	c.mediaTopics[rec.Topic] = true
	rows, err := rtcpRows(&ev, &c.rtcp)
	if err != nil {
		// Kept in Kafka and in no table: a fixed parser can re-read it.
		c.stats.RTCPParseErrors.Add(1)
		return
	}
	c.pendingRTCP = append(c.pendingRTCP, rows...)
}

func rtcpRows(ev *event.RTCP, cp *rtcp.Compound) ([][]any, error) {
	var err error
	source := "capture"
	switch ev.Format {
	case event.RTCPBinary:
		err = rtcp.Parse(ev.Raw, cp)
	case event.RTCPJSON:
		source = "hep"
		err = rtcp.ParseJSON(ev.Raw, cp)
	default:
		err = fmt.Errorf("collector: RTCP format %d", ev.Format)
	}
	if err != nil {
		return nil, err
	}
	id := hex.EncodeToString(ev.ID[:])
	base := func(block int, kind string, reporter, ssrc uint32) []any {
		return []any{id, uint16(block), usTime(ev.TimeUS), uint64(ev.TimeUS), string(ev.CallID), ev.Src.Addr().String(),
			ev.Src.Port(), ev.Dst.Addr().String(), ev.Dst.Port(), source, kind, reporter, ssrc}
	}
	var rows [][]any
	for i := 0; i < cp.NSenders; i++ {
		s := &cp.Senders[i]
		rows = append(rows, append(base(len(rows), "sr", s.SSRC, s.SSRC),
			uint8(0), int32(0), uint32(0), uint32(0), uint32(0), uint32(0), s.Packets, s.Octets,
			uint8(0), uint8(0), uint16(0), uint8(0), uint8(0), uint8(0)))
	}
	for i := 0; i < cp.NReports; i++ {
		b := &cp.Reports[i]
		rows = append(rows, append(base(len(rows), "rr", b.Reporter, b.SSRC),
			b.FractionLost, b.CumulativeLost, b.ExtHighestSeq, b.Jitter, b.LSR, b.DLSR, uint32(0), uint32(0),
			uint8(0), uint8(0), uint16(0), uint8(0), uint8(0), uint8(0)))
	}
	for i := 0; i < cp.NVoIP; i++ {
		v := &cp.VoIP[i]
		rows = append(rows, append(base(len(rows), "xr", v.Reporter, v.SSRC),
			uint8(0), int32(0), uint32(0), uint32(0), uint32(0), uint32(0), uint32(0), uint32(0),
			v.LossRate, v.DiscardRate, v.RoundTripDelay, v.RFactor, v.MOSLQ, v.MOSCQ))
	}
	return rows, nil
}
