package active

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"syscall"
	"time"

	"github.com/emiago/sipgo/sip"

	"github.com/trunkscope/trunkscope/event"
)

// Ping is one OPTIONS round trip.
type Ping struct {
	At     time.Time // when the request was handed to the transport
	Code   uint16    // final response code; 0 when none arrived
	Reason string    // the response's reason phrase
	RTT    time.Duration
	Result event.PingResult
	Detail string // what went wrong, in words
}

// OK reports whether the target answered (any final response: a 404 or a
// 503 still proves the peer is there; its code is in the event).
func (p Ping) OK() bool { return p.Result == event.PingOK }

// Pinger sends OPTIONS to one target.
type Pinger struct {
	p       *peer
	timeout time.Duration
}

// NewPinger returns a pinger for t whose pings give up after timeout.
func NewPinger(t Target, timeout time.Duration) (*Pinger, error) {
	if timeout <= 0 {
		return nil, fmt.Errorf("active: ping timeout must be positive")
	}
	p, err := newPeer(t, netip.AddrPort{})
	if err != nil {
		return nil, err
	}
	return &Pinger{p: p, timeout: timeout}, nil
}

// Close releases the pinger's sockets.
func (pg *Pinger) Close() error { return pg.p.close() }

// Target returns the pinger's target.
func (pg *Pinger) Target() Target { return pg.p.t }

// Transport returns the transport pings use (UDP, TCP, TLS).
func (pg *Pinger) Transport() string { return pg.p.transport }

// Ping sends one OPTIONS and waits for its final response until the
// timeout (or ctx) ends. It never returns an error: every failure is a
// classified Ping.
func (pg *Pinger) Ping(ctx context.Context) Ping {
	ctx, cancel := context.WithTimeout(ctx, pg.timeout)
	defer cancel()
	p := pg.p
	start := time.Now()
	res := Ping{At: start}
	local, rip, err := p.localIP(ctx)
	if err != nil {
		res.Result, res.Detail = classify(err, &p.t)
		return res
	}
	req := sip.NewRequest(sip.OPTIONS, p.uri)
	req.SetTransport(p.transport)
	from, err := p.fromHeader(local)
	if err != nil {
		res.Result, res.Detail = event.PingError, err.Error()
		return res
	}
	to, err := p.toHeader(p.uri)
	if err != nil {
		res.Result, res.Detail = event.PingError, err.Error()
		return res
	}
	callID := sip.CallIDHeader(sip.GenerateTagN(24) + "@trunkscope")
	req.AppendHeader(from)
	req.AppendHeader(to)
	req.AppendHeader(&callID)
	req.AppendHeader(&sip.CSeqHeader{SeqNo: 1, MethodName: sip.OPTIONS})
	req.AppendHeader(sip.NewHeader("User-Agent", orDefault(p.t.UserAgent, "trunkscope")))
	req.AppendHeader(sip.NewHeader("Accept", "application/sdp"))
	p.clock.watch(string(callID))
	defer p.clock.forget(string(callID))

	start = time.Now()
	res.At = start
	tx, err := p.client.TransactionRequest(ctx, req)
	if err != nil {
		res.Result, res.Detail = classify(err, &p.t)
		return res
	}
	defer tx.Terminate() // at the deadline, not Timer F
	remote := netip.AddrPortFrom(rip, uint16(p.uri.Port)).String()
	refused := make(chan struct{})
	if p.transport == "UDP" {
		go func() {
			if portUnreachable(ctx, netip.AddrPortFrom(rip, uint16(p.uri.Port)), p.t.Source) {
				close(refused)
			}
		}()
	}
	for {
		select {
		case r := <-tx.Responses():
			if r.IsProvisional() {
				continue
			}
			res.Code, res.Reason, res.Result = uint16(r.StatusCode), r.Reason, event.PingOK
			at, ok := p.clock.at(string(callID), 1, "OPTIONS", res.Code)
			if !ok {
				at = time.Now() // the filter saw it; only a bug gets here
			}
			res.RTT = at.Sub(start)
			return res
		case <-tx.Done():
			err := tx.Err()
			if err == nil {
				err = fmt.Errorf("transaction ended without a response")
			}
			res.Result, res.Detail = classify(err, &p.t)
			if res.Result == event.PingError {
				res.Detail = "transport failed: " + res.Detail
			}
			return res
		case <-ctx.Done():
			res.Result, res.Detail = event.PingTimeout, fmt.Sprintf("no response within %v", pg.timeout)
			if why, bad := p.clock.badSince(remote, start); bad {
				res.Result, res.Detail = event.PingBadResponse, "unparsable response: "+why
			}
			return res
		case <-refused:
			res.Result, res.Detail = event.PingRefused, "port unreachable (ICMP): nothing listens there"
			return res
		}
	}
}

// portUnreachable tells a closed UDP port from a silent peer. sipgo's UDP
// socket is unconnected, and Linux reports ICMP port unreachable only to
// connected sockets; so beside each UDP ping a connected socket sends one
// RFC 5626 keep-alive (a double CRLF, which SIP peers ignore) and listens
// for the refusal until ctx ends. A closed port is then reported at once,
// not at the timeout; a firewall that drops silently stays a timeout.
func portUnreachable(ctx context.Context, to netip.AddrPort, src netip.Addr) bool {
	var laddr *net.UDPAddr
	if src.IsValid() {
		laddr = net.UDPAddrFromAddrPort(netip.AddrPortFrom(src, 0))
	}
	c, err := net.DialUDP("udp", laddr, net.UDPAddrFromAddrPort(to))
	if err != nil {
		return false
	}
	defer c.Close()
	if _, err := c.Write([]byte("\r\n\r\n")); err != nil {
		return errors.Is(err, syscall.ECONNREFUSED)
	}
	stop := context.AfterFunc(ctx, func() { c.SetReadDeadline(time.Now()) })
	defer stop()
	var b [64]byte
	_, err = c.Read(b[:])
	return errors.Is(err, syscall.ECONNREFUSED)
}
