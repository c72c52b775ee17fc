package active

import (
	"net"
	"sync"
	"time"

	"github.com/emiago/sipgo/sip"

	"github.com/trunkscope/trunkscope/probe/sipscan"
)

// wireClock records when responses arrived on the socket. It is a sipgo
// transport read filter: sipgo calls it with the bytes of every read,
// before parsing, on the reading goroutine, so the time it takes is the
// time the bytes came off the socket, whatever order sipgo later delivers
// the parsed responses in.
//
// Only responses to watched Call-IDs are kept (bounded per call), and bytes
// that are not SIP are noted per remote address, so that a ping answered
// with garbage is reported as a bad response rather than a timeout.
type wireClock struct {
	now func() time.Time

	mu      sync.Mutex
	calls   map[string][]arrival
	streams map[string][]byte // TCP/TLS bytes of a message not yet complete, by local|remote
	bad     map[string]time.Time
	badWhy  map[string]string
}

// arrival is one response read off the socket.
type arrival struct {
	cseq   uint32
	method string
	status uint16
	at     time.Time
}

const (
	maxArrivalsPerCall = 64
	maxStreamBuffer    = 256 << 10
	maxStreams         = 1024
	maxBadAddrs        = 1024
)

func newWireClock() *wireClock {
	return &wireClock{now: time.Now, calls: map[string][]arrival{}, streams: map[string][]byte{},
		bad: map[string]time.Time{}, badWhy: map[string]string{}}
}

// watch starts keeping responses for callID; forget drops them.
func (w *wireClock) watch(callID string) {
	w.mu.Lock()
	if _, ok := w.calls[callID]; !ok {
		w.calls[callID] = nil
	}
	w.mu.Unlock()
}

func (w *wireClock) forget(callID string) {
	w.mu.Lock()
	delete(w.calls, callID)
	w.mu.Unlock()
}

// first returns when the first response to callID with method and a status
// in [lo, hi] arrived, over every CSeq (an INVITE re-sent with credentials
// has a new CSeq but is the same attempt).
func (w *wireClock) first(callID, method string, lo, hi uint16) (time.Time, uint16, bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, a := range w.calls[callID] {
		if a.method == method && a.status >= lo && a.status <= hi {
			return a.at, a.status, true
		}
	}
	return time.Time{}, 0, false
}

// at returns when the first response with exactly this CSeq and status
// arrived.
func (w *wireClock) at(callID string, cseq uint32, method string, status uint16) (time.Time, bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, a := range w.calls[callID] {
		if a.cseq == cseq && a.method == method && a.status == status {
			return a.at, true
		}
	}
	return time.Time{}, false
}

// badSince reports whether bytes that are not a SIP message came from
// remote at or after t, and what was wrong with them.
func (w *wireClock) badSince(remote string, t time.Time) (string, bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	at, ok := w.bad[remote]
	if !ok || at.Before(t) {
		return "", false
	}
	return w.badWhy[remote], true
}

// filter is the sipgo read filter. It never changes or refuses the data:
// sipgo still parses (and drops) what it can't read.
func (w *wireClock) filter(info sip.TransportReadProps, data []byte) ([]byte, error) {
	now := w.now()
	remote := addrString(info.RemoteAddr)
	w.mu.Lock()
	defer w.mu.Unlock()
	if info.Transport == "UDP" || info.Transport == "udp" {
		if sipscan.KeepAlive(data) == len(data) {
			return data, nil
		}
		w.message(remote, data, now)
		return data, nil
	}
	key := addrString(info.LocalAddr) + "|" + remote
	buf := append(w.streams[key], data...)
	for len(buf) > 0 {
		buf = buf[sipscan.KeepAlive(buf):]
		n, err := sipscan.Frame(buf)
		if err != nil {
			w.markBad(remote, now, err.Error())
			buf = nil
			break
		}
		if n == 0 {
			break
		}
		w.message(remote, buf[:n], now)
		buf = buf[n:]
	}
	switch {
	case len(buf) == 0:
		delete(w.streams, key)
	case len(buf) > maxStreamBuffer:
		w.markBad(remote, now, "message over 256 KiB")
		delete(w.streams, key)
	default:
		if _, ok := w.streams[key]; !ok && len(w.streams) >= maxStreams {
			clear(w.streams) // bounded: connections of long-gone targets go
		}
		w.streams[key] = append([]byte(nil), buf...)
	}
	return data, nil
}

// message records one complete message (w.mu held).
func (w *wireClock) message(remote string, b []byte, now time.Time) {
	var m sipscan.Msg
	if err := sipscan.Scan(b, &m); err != nil {
		w.markBad(remote, now, err.Error())
		return
	}
	if m.IsRequest {
		return
	}
	list, ok := w.calls[string(m.CallID)]
	if !ok || len(list) >= maxArrivalsPerCall {
		return
	}
	w.calls[string(m.CallID)] = append(list, arrival{cseq: m.CSeqNum, method: string(m.CSeqMethod), status: m.Status, at: now})
}

func (w *wireClock) markBad(remote string, now time.Time, why string) {
	if _, ok := w.bad[remote]; !ok && len(w.bad) >= maxBadAddrs {
		clear(w.bad)
		clear(w.badWhy)
	}
	w.bad[remote] = now
	w.badWhy[remote] = why
}

func addrString(a net.Addr) string {
	if a == nil {
		return ""
	}
	return a.String()
}
