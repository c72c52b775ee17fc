package ladder

import (
	"fmt"
	"io"
	"net/netip"
	"strings"
	"time"

	"github.com/trunkscope/trunkscope/probe/sdp"
)

// colWidth is the distance between two hosts' lifelines; labels longer than
// an arrow are cut to fit.
const colWidth = 30

// mid is where a host's lifeline runs within its column.
const mid = (colWidth - 1) / 2

// Render draws msgs as a ladder: one lifeline per host (address and port)
// in order of first appearance, one arrow per message with its label, the
// time since the first message and since the previous one, and a one-line
// summary of any SDP body (media address, port and codecs).
func Render(w io.Writer, msgs []Message) error {
	if len(msgs) == 0 {
		_, err := fmt.Fprintln(w, "no SIP messages")
		return err
	}
	var hosts []netip.AddrPort
	col := map[netip.AddrPort]int{}
	for _, m := range msgs {
		for _, h := range []netip.AddrPort{m.Src, m.Dst} {
			if _, ok := col[h]; !ok {
				col[h] = len(hosts)
				hosts = append(hosts, h)
			}
		}
	}
	first := msgs[0].TimeUS
	stamp := func(us, prevUS int64) string {
		return fmt.Sprintf("%.6f %+.6f", float64(us-first)/1e6, float64(us-prevUS)/1e6)
	}
	timeCol := len(stamp(msgs[len(msgs)-1].TimeUS, first)) + 3
	var b strings.Builder
	b.WriteString(strings.Repeat(" ", timeCol))
	for _, h := range hosts {
		b.WriteString(pad(center(h.String(), colWidth), colWidth))
	}
	fmt.Fprintln(w, strings.TrimRight(b.String(), " "))
	b.Reset()
	// Seconds since the first message, and since the previous one.
	b.WriteString(strings.Repeat(" ", timeCol))
	for range hosts {
		b.WriteString(pad(center("|", colWidth), colWidth))
	}
	lifelines := strings.TrimRight(b.String(), " ")
	fmt.Fprintln(w, lifelines)
	prev := first
	for _, m := range msgs {
		line := []byte(strings.Repeat(" ", timeCol+colWidth*len(hosts)))
		for i := range hosts {
			line[timeCol+i*colWidth+mid] = '|'
		}
		copy(line, stamp(m.TimeUS, prev))
		prev = m.TimeUS
		a, z := timeCol+col[m.Src]*colWidth+mid, timeCol+col[m.Dst]*colWidth+mid
		label := m.Label()
		if m.CSeq != 0 && !m.IsRequest() {
			label += " (" + m.Method + ")"
		}
		switch {
		case a < z:
			for i := a + 1; i < z; i++ {
				line[i] = '-'
			}
			line[z-1] = '>'
			put(line, a+2, z-2, label)
		case a > z:
			for i := z + 1; i < a; i++ {
				line[i] = '-'
			}
			line[z+1] = '<'
			put(line, z+3, a-1, label)
		default: // to itself (a host talking to its own port)
			put(line, a+2, len(line), "o "+label)
		}
		fmt.Fprintln(w, strings.TrimRight(string(line), " "))
		if s := sdpSummary(m.Raw); s != "" {
			l2 := []byte(lifelines + strings.Repeat(" ", len(s)+colWidth))
			copy(l2[min(a, z)+3:], s)
			fmt.Fprintln(w, strings.TrimRight(string(l2), " "))
		}
	}
	_, err := fmt.Fprintf(w, "%d messages, %s\n", len(msgs), secs(msgs[len(msgs)-1].TimeUS-first))
	return err
}

// put writes s over line[from:to] (cut to fit), on a space before and after.
func put(line []byte, from, to int, s string) {
	if to > len(line) {
		to = len(line)
	}
	if from >= to {
		return
	}
	if n := to - from; len(s) > n {
		s = s[:n]
	}
	// Center the label on the arrow.
	off := from + (to-from-len(s))/2
	copy(line[off:], s)
}

func center(s string, w int) string {
	if len(s) >= w-1 {
		return s[:w-1]
	}
	return strings.Repeat(" ", max(mid-len(s)/2, 0)) + s
}

func pad(s string, w int) string {
	if len(s) >= w {
		return s
	}
	return s + strings.Repeat(" ", w-len(s))
}

func secs(us int64) string {
	return fmt.Sprintf("%.6fs", time.Duration(us*1000).Seconds())
}

// sdpSummary is "SDP 10.0.0.1:4000 audio PCMA/8000 telephone-event/8000"
// for a message carrying an SDP body, "" otherwise.
func sdpSummary(raw string) string {
	_, body, ok := strings.Cut(raw, "\r\n\r\n")
	if !ok {
		_, body, ok = strings.Cut(raw, "\n\n")
	}
	if !ok || !strings.Contains(body, "m=") {
		return ""
	}
	var s sdp.Session
	if err := sdp.Parse([]byte(body), &s); err != nil {
		return "SDP (unreadable)"
	}
	var b strings.Builder
	b.WriteString("SDP")
	for i := range s.Media[:s.NumMedia] {
		m := &s.Media[i]
		addr := m.Conn.Addr
		if !m.Conn.Present() {
			addr = s.Conn.Addr
		}
		fmt.Fprintf(&b, " %s %s:%d", m.Type, addr, m.Port)
		for _, pt := range m.Formats[:m.NumFormats] {
			if name, clock, ok := m.Codec(pt); ok {
				fmt.Fprintf(&b, " %s/%d", name, clock)
			} else {
				fmt.Fprintf(&b, " pt%d", pt)
			}
		}
		dir := m.Direction
		if dir == sdp.DirUnspecified {
			dir = s.Direction
		}
		if dir != sdp.DirUnspecified && dir != sdp.SendRecv {
			b.WriteString(" " + dir.String())
		}
	}
	return b.String()
}
