// Package testports hands tests free loopback ports for peers they start
// (SIPp, Kamailio, servers), which need port numbers before they bind.
//
// Ports come from below the kernel's ephemeral range (32768 and up on
// Linux), so no connection of another process can take one between the
// choice and the peer's bind; a port is only handed out after a bind of it
// succeeded. SIPp binds four media ports from -mp (audio and video RTP and
// RTCP): Range gives such a block.
package testports

import (
	"fmt"
	"math/rand/v2"
	"net"
	"testing"
)

const lo, hi = 10000, 32000 // below net.ipv4.ip_local_port_range

// UDP returns n distinct ports free for UDP and TCP on 127.0.0.1.
func UDP(t testing.TB, n int) []int {
	t.Helper()
	var ports []int
	var held []func()
	defer func() {
		for _, release := range held {
			release()
		}
	}()
	for len(ports) < n {
		p, release, ok := hold(lo + rand.IntN(hi-lo))
		if !ok {
			continue
		}
		held = append(held, release)
		ports = append(ports, p)
		if len(held) > 1000 {
			t.Fatal("testports: no free ports")
		}
	}
	return ports
}

// Range returns the even first port of n consecutive free ports.
func Range(t testing.TB, n int) int {
	t.Helper()
	for try := 0; try < 500; try++ {
		base := lo + 2*rand.IntN((hi-lo)/2-n)
		var releases []func()
		ok := true
		for i := 0; i < n && ok; i++ {
			_, release, free := hold(base + i)
			if free {
				releases = append(releases, release)
			}
			ok = free
		}
		for _, release := range releases {
			release()
		}
		if ok {
			return base
		}
	}
	t.Fatalf("testports: no %d consecutive free ports", n)
	return 0
}

// hold binds port for UDP and TCP on loopback; release frees both.
func hold(port int) (int, func(), bool) {
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	u, err := net.ListenPacket("udp", addr)
	if err != nil {
		return 0, nil, false
	}
	l, err := net.Listen("tcp", addr)
	if err != nil {
		u.Close()
		return 0, nil, false
	}
	return port, func() { u.Close(); l.Close() }, true
}
