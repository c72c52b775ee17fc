package hep

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"sync"
	"testing"
	"time"
)

// waitFor bounds every wait in these tests.
const waitFor = 5 * time.Second

// recorder keeps deep copies of the packets a Server hands it.
type recorder struct {
	mu   sync.Mutex
	pkts []*Packet
	err  error // returned from every call
}

func (r *recorder) handle(p *Packet) error {
	c := *p
	c.AuthKey = bytes.Clone(p.AuthKey)
	c.CorrelationID = bytes.Clone(p.CorrelationID)
	c.Node = bytes.Clone(p.Node)
	c.Payload = bytes.Clone(p.Payload)
	r.mu.Lock()
	r.pkts = append(r.pkts, &c)
	r.mu.Unlock()
	return r.err
}

// wait returns the packets once there are n, failing after waitFor.
func (r *recorder) wait(t *testing.T, n int) []*Packet {
	t.Helper()
	deadline := time.Now().Add(waitFor)
	for {
		r.mu.Lock()
		got := append([]*Packet(nil), r.pkts...)
		r.mu.Unlock()
		if len(got) >= n {
			return got
		}
		if time.Now().After(deadline) {
			t.Fatalf("got %d packets, want %d", len(got), n)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// eventually polls cond until it holds, failing after waitFor.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(waitFor)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// serve starts a Server on a free loopback port; cleanup stops it and
// checks that Serve returned nil.
func serve(t *testing.T, h Handler, opts ...Opt) *Server {
	t.Helper()
	s, err := Listen(t.Context(), "127.0.0.1:0", h, opts...)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Serve(ctx) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("Serve: %v", err)
			}
		case <-time.After(waitFor):
			t.Error("Serve did not return after cancel")
		}
	})
	return s
}

func sendUDP(t *testing.T, s *Server, pkts ...[]byte) {
	t.Helper()
	c, err := net.DialUDP("udp", nil, net.UDPAddrFromAddrPort(s.UDPAddr()))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	for _, b := range pkts {
		if _, err := c.Write(b); err != nil {
			t.Fatal(err)
		}
	}
}

func dialTCP(t *testing.T, s *Server) *net.TCPConn {
	t.Helper()
	c, err := net.DialTCP("tcp", nil, net.TCPAddrFromAddrPort(s.TCPAddr()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// closedByPeer reports whether the server closed c, reading (and dropping)
// anything until EOF or an error within waitFor.
func closedByPeer(c net.Conn) bool {
	c.SetReadDeadline(time.Now().Add(waitFor))
	_, err := io.Copy(io.Discard, c)
	return err == nil || errors.Is(err, net.ErrClosed) || isReset(err)
}

func isReset(err error) bool {
	var op *net.OpError
	return errors.As(err, &op) && !op.Timeout()
}

func TestListenBindsSamePort(t *testing.T) {
	s := serve(t, (&recorder{}).handle)
	u, c := s.UDPAddr(), s.TCPAddr()
	if u != c || u.Port() == 0 || !u.Addr().IsLoopback() {
		t.Errorf("UDP %v, TCP %v", u, c)
	}
}

func TestListenErrors(t *testing.T) {
	h := (&recorder{}).handle
	for name, f := range map[string]func() (*Server, error){
		"nil handler":      func() (*Server, error) { return Listen(t.Context(), "127.0.0.1:0", nil) },
		"no port":          func() (*Server, error) { return Listen(t.Context(), "127.0.0.1", h) },
		"bad host":         func() (*Server, error) { return Listen(t.Context(), "256.0.0.1:0", h) },
		"negative conns":   func() (*Server, error) { return Listen(t.Context(), "127.0.0.1:0", h, MaxTCPConns(-1)) },
		"negative timeout": func() (*Server, error) { return Listen(t.Context(), "127.0.0.1:0", h, ReadTimeout(-time.Second)) },
	} {
		if s, err := f(); err == nil {
			s.Close()
			t.Errorf("%s: no error", name)
		}
	}
	// A taken port fails rather than binding elsewhere.
	s := serve(t, h)
	if s2, err := Listen(t.Context(), s.UDPAddr().String(), h); err == nil {
		s2.Close()
		t.Error("second Listen on a taken port succeeded")
	}
}

func TestServeTwice(t *testing.T) {
	s := serve(t, (&recorder{}).handle)
	eventually(t, "first Serve", func() bool { return s.serving.Load() })
	if err := s.Serve(t.Context()); err == nil {
		t.Error("second Serve succeeded")
	}
}

func TestServerUDP(t *testing.T) {
	rec := &recorder{}
	s := serve(t, rec.handle)
	v3 := sipPacket(invite)
	v2p := sipPacket(ok200)
	v2p.Version, v2p.CorrelationID, v2p.Node = 2, nil, nil
	sendUDP(t, s, mustAppend(t, v3), mustAppendV2(t, v2p))
	got := rec.wait(t, 2)
	for i, want := range []*Packet{v3, v2p} {
		if !equalPacket(got[i], want) {
			t.Errorf("packet %d:\n got  %s\nwant %s", i, show(got[i]), show(want))
		}
	}
	st := s.Stats()
	if st.Received.Load() != 2 || st.UDP.Load() != 2 || st.V2.Load() != 1 || st.V3.Load() != 1 || st.Accepted.Load() != 2 {
		t.Errorf("stats %v", st.Counters())
	}
}

func TestServerUDPDecodeErrors(t *testing.T) {
	rec := &recorder{}
	s := serve(t, rec.handle)
	sendUDP(t, s, []byte("HEP3"), []byte("HEP3\x00\x00"), hep3(rawChunk(chunkIPProto, 5, []byte{1})),
		hep3(chunk(chunkCompressed, gz(t, make([]byte, 1<<20)))), []byte("garbage"), mustAppend(t, sipPacket(invite)))
	rec.wait(t, 1)
	st := s.Stats()
	eventually(t, "6 received", func() bool { return st.Received.Load() == 6 })
	for r, want := range map[Reason]uint64{ReasonTruncated: 1, ReasonBadLength: 1, ReasonBadChunk: 1, ReasonTooLarge: 1, ReasonNotHEP: 1} {
		if got := st.Rejected[r].Load(); got != want {
			t.Errorf("Rejected[%v] = %d, want %d", r, got, want)
		}
	}
}

func TestServerAuthKey(t *testing.T) {
	rec := &recorder{}
	s := serve(t, rec.handle, AuthKey("s3cret"))
	good := sipPacket(invite)
	good.AuthKey = []byte("s3cret")
	wrong := sipPacket(invite)
	wrong.AuthKey = []byte("s3cres")
	longer := sipPacket(invite)
	longer.AuthKey = []byte("s3cret!")
	none := sipPacket(invite)
	v2p := sipPacket(invite)
	sendUDP(t, s, mustAppend(t, wrong), mustAppend(t, longer), mustAppend(t, none), mustAppendV2(t, v2p), mustAppend(t, good))
	// Over TCP as well: a rejected frame does not cost the connection.
	c := dialTCP(t, s)
	c.Write(append(mustAppend(t, wrong), mustAppend(t, good)...))
	got := rec.wait(t, 2)
	st := s.Stats()
	eventually(t, "7 received", func() bool { return st.Received.Load() == 7 })
	if n := st.Rejected[ReasonAuth].Load(); n != 5 {
		t.Errorf("auth rejections %d, want 5", n)
	}
	if len(got) != 2 || string(got[0].AuthKey) != "s3cret" || string(got[1].AuthKey) != "s3cret" {
		t.Errorf("accepted %d packets", len(got))
	}
	if st.TCPGarbage.Load() != 0 {
		t.Error("auth failure closed the connection")
	}
}

// tcpFrames are three frames of different sizes, back to back.
func tcpFrames(t *testing.T) ([]*Packet, []byte) {
	a := sipPacket(invite)
	b := sipPacket(ok200)
	b.IPProto = 6
	c := &Packet{Version: 3, ProtoType: ProtoLog, TimeUS: 7, Payload: []byte("x")}
	var stream []byte
	for _, p := range []*Packet{a, b, c} {
		stream = append(stream, mustAppend(t, p)...)
	}
	return []*Packet{a, b, c}, stream
}

func TestServerTCPOddWrites(t *testing.T) {
	want, stream := tcpFrames(t)
	first := len(mustAppend(t, want[0]))
	for name, sizes := range map[string][]int{
		"one byte at a time":       {1},
		"split headers":            {3, 2, 4, 1, 7, 5},                                 // cuts "HEP3", the length and chunk headers
		"all frames in one write":  {len(stream)},                                      // several frames per segment
		"frame and a bit":          {first + 1, 5, len(stream)},                        // a frame plus the next one's magic
		"header then the rest":     {6, first - 6, 6, len(stream)},                     // length known, body later
		"odd sizes":                {13, 101, 7, 333, 2, 999},                          // whatever
		"last byte of a frame":     {first - 1, 1, len(stream)},                        // frame completes on a one-byte write
		"frame boundary in middle": {first - 3, 6, len(stream)},                        // end of one frame and start of the next in one write
		"everything but one byte":  {len(stream) - 1, 1},                               // the last frame completes at the very end
		"first frame exactly":      {first, len(stream)},                               // a clean boundary
		"two halves":               {len(stream) / 2, len(stream) - len(stream)/2 + 1}, // past the end is clipped
	} {
		t.Run(name, func(t *testing.T) {
			rec := &recorder{}
			s := serve(t, rec.handle)
			c := dialTCP(t, s)
			c.SetNoDelay(true)
			for i, off := 0, 0; off < len(stream); i++ {
				n := min(sizes[i%len(sizes)], len(stream)-off)
				if _, err := c.Write(stream[off : off+n]); err != nil {
					t.Fatal(err)
				}
				off += n
				if n < 16 && (off < 128 || i%32 == 0) {
					// Let small writes arrive as reads of their own:
					// all of them around the first frame's headers, a
					// sample after that to keep the test fast.
					time.Sleep(100 * time.Microsecond)
				}
			}
			got := rec.wait(t, 3)
			for i := range want {
				if !equalPacket(got[i], want[i]) {
					t.Errorf("frame %d:\n got  %s\nwant %s", i, show(got[i]), show(want[i]))
				}
			}
			st := s.Stats()
			if st.TCP.Load() != 3 || st.V3.Load() != 3 || st.TCPConns.Load() != 1 {
				t.Errorf("stats %v", st.Counters())
			}
		})
	}
}

func TestServerTCPLargestFrame(t *testing.T) {
	rec := &recorder{}
	s := serve(t, rec.handle)
	p := &Packet{Version: 3, ProtoType: ProtoLog, TimeUS: 1}
	overhead := len(mustAppend(t, p)) + 6
	p.Payload = bytes.Repeat([]byte("0123456789"), MaxPacket)[:MaxPacket-overhead]
	b := mustAppend(t, p)
	if len(b) != MaxPacket {
		t.Fatalf("frame of %d bytes", len(b))
	}
	small := mustAppend(t, sipPacket(ok200))
	c := dialTCP(t, s)
	// Behind a small frame, so the big one starts mid-buffer and must be
	// moved to the front to fit.
	if _, err := c.Write(append(append(bytes.Clone(small), b...), small...)); err != nil {
		t.Fatal(err)
	}
	got := rec.wait(t, 3)
	if !equalPacket(got[1], p) {
		t.Errorf("got %s", show(got[1]))
	}
}

func TestServerTCPGarbage(t *testing.T) {
	for name, in := range map[string][]byte{
		"HTTP":             []byte("GET / HTTP/1.1\r\nHost: x\r\n\r\n"),
		"length 5":         []byte("HEP3\x00\x05rest"),
		"v2 on a stream":   v2(2, 2, 4, "SIP"),
		"garbage after ok": append(mustAppend(t, sipPacket(invite)), "HEP2\x00\x10"...),
	} {
		t.Run(name, func(t *testing.T) {
			rec := &recorder{}
			s := serve(t, rec.handle)
			c := dialTCP(t, s)
			if _, err := c.Write(in); err != nil {
				t.Fatal(err)
			}
			if !closedByPeer(c) {
				t.Fatal("connection left open")
			}
			st := s.Stats()
			eventually(t, "connection closed", func() bool { return st.TCPOpen.Load() == 0 })
			if st.TCPGarbage.Load() != 1 {
				t.Errorf("stats %v", st.Counters())
			}
		})
	}
}

// A frame that is framed right but does not decode is dropped alone.
func TestServerTCPBadFrameKeepsConnection(t *testing.T) {
	rec := &recorder{}
	s := serve(t, rec.handle)
	c := dialTCP(t, s)
	bad := hep3(chunk(chunkSrcIPv4, []byte{1, 2, 3}))
	c.Write(append(bad, mustAppend(t, sipPacket(invite))...))
	rec.wait(t, 1)
	st := s.Stats()
	if st.Rejected[ReasonBadChunk].Load() != 1 || st.TCPGarbage.Load() != 0 || st.TCPOpen.Load() != 1 {
		t.Errorf("stats %v", st.Counters())
	}
}

func TestServerMaxTCPConns(t *testing.T) {
	rec := &recorder{}
	s := serve(t, rec.handle, MaxTCPConns(1))
	c1 := dialTCP(t, s)
	c1.Write(mustAppend(t, sipPacket(invite)))
	rec.wait(t, 1) // c1 holds the only slot
	c2 := dialTCP(t, s)
	if !closedByPeer(c2) {
		t.Fatal("second connection left open")
	}
	st := s.Stats()
	eventually(t, "rejection counted", func() bool { return st.TCPRejected.Load() == 1 })
	c1.Close()
	eventually(t, "slot freed", func() bool { return st.TCPOpen.Load() == 0 })
	c3 := dialTCP(t, s)
	c3.Write(mustAppend(t, sipPacket(ok200)))
	rec.wait(t, 2)
}

func TestServerReadTimeout(t *testing.T) {
	rec := &recorder{}
	s := serve(t, rec.handle, ReadTimeout(50*time.Millisecond))
	c := dialTCP(t, s)
	c.Write([]byte("HEP3")) // and then nothing
	if !closedByPeer(c) {
		t.Fatal("idle connection left open")
	}
	st := s.Stats()
	eventually(t, "timeout counted", func() bool { return st.TCPTimeouts.Load() == 1 })
}

func TestServerUnfinishedFrame(t *testing.T) {
	rec := &recorder{}
	s := serve(t, rec.handle)
	c := dialTCP(t, s)
	b := mustAppend(t, sipPacket(invite))
	c.Write(b[:len(b)-1])
	c.CloseWrite()
	st := s.Stats()
	eventually(t, "unfinished counted", func() bool { return st.TCPUnfinished.Load() == 1 })
}

func TestServerHandlerErrorAndTime(t *testing.T) {
	rec := &recorder{err: errors.New("sink full")}
	s := serve(t, rec.handle)
	p := &Packet{Version: 1, IPProto: 17, ProtoType: ProtoSIP, Src: pbx, Dst: trunk, Payload: invite}
	v1 := mustAppendV2(t, p)
	v1[0] = 1
	v1 = append(v1[:16], invite...) // v1 has no time header
	before := time.Now().UnixMicro()
	sendUDP(t, s, v1)
	got := rec.wait(t, 1)
	if got[0].Version != 1 || got[0].TimeUS < before || got[0].TimeUS > time.Now().UnixMicro() {
		t.Errorf("v1 packet: %s", show(got[0]))
	}
	st := s.Stats()
	if st.HandlerErrors.Load() != 1 || st.V1.Load() != 1 {
		t.Errorf("stats %v", st.Counters())
	}
}

// Serve returns only after every connection goroutine has ended, also with
// a connection open and a handler running.
func TestServerShutdown(t *testing.T) {
	block := make(chan struct{})
	entered := make(chan struct{}, 1)
	h := func(p *Packet) error {
		entered <- struct{}{}
		<-block
		return nil
	}
	s, err := Listen(t.Context(), "127.0.0.1:0", h)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- s.Serve(ctx) }()
	idle := dialTCP(t, s)
	busy := dialTCP(t, s)
	busy.Write(mustAppend(t, sipPacket(invite)))
	<-entered
	cancel()
	select {
	case <-done:
		t.Fatal("Serve returned while a handler was running")
	case <-time.After(50 * time.Millisecond):
	}
	close(block)
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Serve: %v", err)
		}
	case <-time.After(waitFor):
		t.Fatal("Serve did not return")
	}
	if !closedByPeer(idle) {
		t.Error("idle connection left open")
	}
	if s.Stats().TCPOpen.Load() != 0 {
		t.Error("connections counted open after Serve returned")
	}
	if _, err := net.DialTimeout("tcp", s.TCPAddr().String(), time.Second); err == nil {
		t.Error("listener still accepts")
	}
}

func TestCounters(t *testing.T) {
	var st Stats
	st.Rejected[ReasonGzip].Add(3)
	st.TCPOpen.Add(-1) // never negative in the listing
	seen := map[string]bool{}
	for _, c := range st.Counters() {
		if seen[c.Name] {
			t.Errorf("duplicate %s", c.Name)
		}
		seen[c.Name] = true
		switch c.Name {
		case "rejected_gzip":
			if c.Value != 3 {
				t.Errorf("%s = %d", c.Name, c.Value)
			}
		case "tcp_open":
			if c.Value != 0 {
				t.Errorf("%s = %d", c.Name, c.Value)
			}
		}
	}
	if !seen["rejected_auth"] || !seen["rejected_too_large"] || seen["rejected_not_sip"] {
		t.Errorf("names %v", seen)
	}
}
