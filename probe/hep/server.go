package hep

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// Handler receives each accepted packet. It is called synchronously from
// the goroutine that read the packet: the UDP reader or the reader of one
// TCP connection. Handlers therefore run concurrently (one per connection
// and one for UDP) and must be safe for that; a slow handler slows only its
// own socket.
//
// p, and every slice in it, aliases a buffer that is reused as soon as the
// handler returns: copy or encode (ToSIP then event.AppendSIP) what must
// outlive the call. An error is counted in Stats.HandlerErrors and does not
// stop the server.
type Handler func(p *Packet) error

// Server receives HEP over one UDP socket (v1, v2 and v3) and one TCP
// listener (v3 frames back to back) bound to the same address.
type Server struct {
	cfg   cfg
	h     Handler
	udp   *net.UDPConn
	tcp   *net.TCPListener
	stats Stats
	now   func() time.Time // Testing.

	serving   atomic.Bool
	closeOnce sync.Once
}

// Listen binds a UDP socket and a TCP listener to addr ("host:port"; port 0
// picks a free port, the same for both) and returns a Server that Serve
// runs. It binds only the host given: "127.0.0.1:9060" is loopback only,
// ":9060" every interface. ctx bounds the binding (a host name lookup), not
// the server's life, which Serve's context does.
func Listen(ctx context.Context, addr string, h Handler, opts ...Opt) (*Server, error) {
	if h == nil {
		return nil, errors.New("hep: nil Handler")
	}
	c := defaultCfg()
	for _, o := range opts {
		o.apply(&c)
	}
	if err := c.validate(); err != nil {
		return nil, err
	}
	_, port, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, fmt.Errorf("hep: listen address: %w", err)
	}
	s := &Server{cfg: c, h: h, now: time.Now}
	var lc net.ListenConfig
	// With port 0 the kernel picks a UDP port that may be taken for TCP;
	// pick again a few times before giving up.
	for try := 0; ; try++ {
		pc, err := lc.ListenPacket(ctx, "udp", addr)
		if err != nil {
			return nil, fmt.Errorf("hep: %w", err)
		}
		s.udp = pc.(*net.UDPConn)
		// The UDP socket's own address, not addr again: a host name
		// could resolve to another address the second time.
		l, err := lc.Listen(ctx, "tcp", s.udp.LocalAddr().String())
		if err == nil {
			s.tcp = l.(*net.TCPListener)
			return s, nil
		}
		s.udp.Close()
		if (port != "0" && port != "") || try == 10 || !errors.Is(err, syscall.EADDRINUSE) {
			return nil, fmt.Errorf("hep: %w", err)
		}
	}
}

// UDPAddr returns the address the UDP socket is bound to.
func (s *Server) UDPAddr() netip.AddrPort { return s.udp.LocalAddr().(*net.UDPAddr).AddrPort() }

// TCPAddr returns the address the TCP listener is bound to.
func (s *Server) TCPAddr() netip.AddrPort { return s.tcp.Addr().(*net.TCPAddr).AddrPort() }

// Stats returns the server's live counters.
func (s *Server) Stats() *Stats { return &s.stats }

// Close closes the sockets. Serve does it when it returns; Close is for a
// server that is never served.
func (s *Server) Close() error {
	var err error
	s.closeOnce.Do(func() { err = errors.Join(s.udp.Close(), s.tcp.Close()) })
	return err
}

// Serve receives packets until ctx is cancelled, then closes the sockets
// and every connection and returns once all its goroutines have ended: nil
// after a cancellation, the error otherwise (a UDP socket that fails). It
// can be called once.
func (s *Server) Serve(ctx context.Context) error {
	if !s.serving.CompareAndSwap(false, true) {
		return errors.New("hep: Serve called twice")
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		wg      sync.WaitGroup
		errOnce sync.Once
		failure error
	)
	fail := func(err error) {
		if err != nil {
			errOnce.Do(func() { failure = err })
			cancel()
		}
	}
	wg.Go(func() { fail(s.serveUDP(ctx)) })
	wg.Go(func() { s.serveTCP(ctx, &wg) })
	<-ctx.Done()
	s.Close() // unblocks the readers and Accept
	wg.Wait()
	return failure
}

func (s *Server) serveUDP(ctx context.Context) error {
	var (
		d   Decoder
		p   Packet
		buf = make([]byte, MaxPacket+1) // no UDP payload is longer than 65,535 - 8
	)
	for {
		n, err := s.udp.Read(buf)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("hep: udp: %w", err)
		}
		s.stats.UDP.Add(1)
		s.packet(&d, &p, buf[:n])
	}
}

func (s *Server) serveTCP(ctx context.Context, wg *sync.WaitGroup) {
	slots := make(chan struct{}, s.cfg.maxTCPConns)
	backoff := 5 * time.Millisecond
	for {
		c, err := s.tcp.AcceptTCP()
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			// EMFILE and the like pass; back off as net/http does
			// rather than spin or give up.
			select {
			case <-ctx.Done():
				return
			case <-time.After(backoff):
			}
			backoff = min(2*backoff, time.Second)
			continue
		}
		backoff = 5 * time.Millisecond
		select {
		case slots <- struct{}{}:
		default:
			s.stats.TCPRejected.Add(1)
			c.Close()
			continue
		}
		s.stats.TCPConns.Add(1)
		s.stats.TCPOpen.Add(1)
		wg.Go(func() {
			defer func() {
				c.Close()
				s.stats.TCPOpen.Add(-1)
				<-slots
			}()
			stop := context.AfterFunc(ctx, func() { c.Close() })
			defer stop()
			s.serveConn(c)
		})
	}
}

// serveConn reads HEP3 frames back to back (each "HEP3", its length, then
// the rest of its length) into one reused buffer until the peer closes,
// times out or sends bytes that are not a frame: after those the stream
// cannot be resynchronised, so the connection is closed. A frame that is
// framed right but fails to decode is only counted.
func (s *Server) serveConn(c *net.TCPConn) {
	var (
		d    Decoder
		p    Packet
		buf  = make([]byte, MaxPacket+1)
		r, w int // unread bytes are buf[r:w]
	)
	for {
		for {
			n, err := FrameLen(buf[r:w])
			if err != nil {
				s.stats.Received.Add(1)
				s.stats.TCP.Add(1)
				s.stats.Rejected[ReasonOf(err)].Add(1)
				s.stats.TCPGarbage.Add(1)
				return
			}
			if n == 0 || w-r < n {
				break
			}
			s.stats.TCP.Add(1)
			s.packet(&d, &p, buf[r:r+n])
			r += n
		}
		// Move the partial frame to the front so the whole of it fits:
		// a frame is at most MaxPacket bytes, the buffer one more.
		w = copy(buf, buf[r:w])
		r = 0
		if s.cfg.readTimeout > 0 {
			c.SetReadDeadline(s.now().Add(s.cfg.readTimeout))
		}
		n, err := c.Read(buf[w:])
		w += n
		if err != nil && n == 0 {
			switch {
			case errors.Is(err, os.ErrDeadlineExceeded):
				s.stats.TCPTimeouts.Add(1)
			case w > 0:
				s.stats.TCPUnfinished.Add(1)
			}
			return
		}
	}
}

// packet decodes, authenticates and hands on one datagram or frame.
func (s *Server) packet(d *Decoder, p *Packet, b []byte) {
	s.stats.Received.Add(1)
	if err := d.Decode(b, p); err != nil {
		s.stats.Rejected[ReasonOf(err)].Add(1)
		return
	}
	switch p.Version {
	case 1:
		s.stats.V1.Add(1)
	case 2:
		s.stats.V2.Add(1)
	default:
		s.stats.V3.Add(1)
	}
	// Constant time, so that the reply timing of a probing sender says
	// nothing about how much of its guess was right.
	if s.cfg.authKey != nil && subtle.ConstantTimeCompare(p.AuthKey, s.cfg.authKey) != 1 {
		s.stats.Rejected[ReasonAuth].Add(1)
		return
	}
	if p.TimeUS == 0 {
		// HEP v1, and v3 senders that leave the time out: the arrival
		// time is the best estimate, and an event needs one.
		p.TimeUS = s.now().UnixMicro()
	}
	s.stats.Accepted.Add(1)
	if err := s.h(p); err != nil {
		s.stats.HandlerErrors.Add(1)
	}
}
