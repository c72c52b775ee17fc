package synth

import (
	"encoding/binary"
	"github.com/trunkscope/trunkscope/probe/g711"
	"math"
	"math/rand/v2"
)

const (
	rtpPTPCMU      = 0
	rtpSamples     = 160 // 20 ms of 8 kHz audio
	rtpIntervalUS  = 20 * msec
	rtpMaxJitterUS = 2 * msec
	rtpHeaderLen   = 12
	toneRate       = 8000
)

// rtpStream yields one direction of a call's media lazily, so a long call
// costs a few hundred bytes regardless of its length.
type rtpStream struct {
	src, dst     *host
	sport, dport uint16
	ssrc         uint32
	seq          uint16
	ts           uint32
	baseUS       int64
	n, i         int
	atUS         int64
	r            *rand.Rand
	tone         []byte
	loss         float64    // fraction of packets not sent (incidents)
	lossR        *rand.Rand // its own stream: jitter draws stay as they were
}

func (s *rtpStream) setLoss(loss float64, seed, stream uint64) {
	if loss > 0 {
		s.loss, s.lossR = loss, rand.New(rand.NewPCG(seed, 0x6c6f7373+stream))
	}
}

// newRTPStream plans packets from just after fromUS until before toUS. The
// last packet leaves room for the maximum jitter, so no media trails the BYE.
func newRTPStream(seed, stream uint64, src, dst *host, sport, dport uint16, fromUS, toUS int64, tone []byte) *rtpStream {
	r := rand.New(rand.NewPCG(seed, stream))
	s := &rtpStream{
		src: src, dst: dst, sport: sport, dport: dport,
		ssrc: r.Uint32(), seq: uint16(r.Uint32()), ts: r.Uint32(),
		baseUS: fromUS + between(r, 1*msec, rtpIntervalUS),
		r:      r, tone: tone,
	}
	if span := toUS - s.baseUS - rtpMaxJitterUS; span >= 0 {
		s.n = int(span/rtpIntervalUS) + 1
	}
	s.atUS = s.packetTime()
	return s
}

// packetTime jitters around the nominal 20 ms grid; jitter below the
// interval cannot reorder the stream.
func (s *rtpStream) packetTime() int64 {
	return s.baseUS + int64(s.i)*rtpIntervalUS + s.r.Int64N(rtpMaxJitterUS)
}

func (s *rtpStream) at() int64 { return s.atUS }

func (s *rtpStream) emit(g *generator) (bool, error) {
	b := g.rtpBuf[:rtpHeaderLen]
	b[0] = 0x80 // version 2, no padding/extension/CSRC
	b[1] = rtpPTPCMU
	if s.i == 0 {
		b[1] |= 0x80 // marker: start of a talkspurt
	}
	binary.BigEndian.PutUint16(b[2:], s.seq+uint16(s.i))
	binary.BigEndian.PutUint32(b[4:], s.ts+uint32(s.i*rtpSamples))
	binary.BigEndian.PutUint32(b[8:], s.ssrc)
	off := (s.i * rtpSamples) % len(s.tone)
	b = append(b, s.tone[off:off+rtpSamples]...)
	// A lost packet keeps its sequence number: the receiver sees the gap.
	// The first and last packets always go, so the stream's extent stays.
	if s.loss == 0 || s.i == 0 || s.i == s.n-1 || s.lossR.Float64() >= s.loss {
		if err := g.pw.write(s.atUS, s.src, s.dst, s.sport, s.dport, b); err != nil {
			return false, err
		}
		g.truth.Packets++
		g.truth.RTPPackets++
	}
	s.i++
	if s.i >= s.n {
		return false, nil
	}
	s.atUS = s.packetTime()
	return true, nil
}

// toneTable holds one second of a µ-law sine; with an integer frequency it
// loops seamlessly and 160-sample frames tile it exactly.
func toneTable(hz float64) []byte {
	t := make([]byte, toneRate)
	for i := range t {
		v := 8000 * math.Sin(2*math.Pi*hz*float64(i)/toneRate)
		t[i] = g711.ULaw(int16(v))
	}
	return t
}
