package testports

import (
	"fmt"
	"net"
	"testing"
)

func TestPortsAreFreeAndDistinct(t *testing.T) {
	ports := UDP(t, 20)
	seen := map[int]bool{}
	for _, p := range ports {
		if seen[p] || p < lo || p >= hi {
			t.Fatalf("port %d: duplicate or outside [%d, %d)", p, lo, hi)
		}
		seen[p] = true
		c, err := net.ListenPacket("udp", fmt.Sprintf("127.0.0.1:%d", p))
		if err != nil {
			t.Fatalf("port %d not free: %v", p, err)
		}
		c.Close()
	}
	base := Range(t, 4)
	if base%2 != 0 {
		t.Fatalf("range base %d is odd (RTP takes the even port)", base)
	}
	for p := base; p < base+4; p++ {
		c, err := net.ListenPacket("udp", fmt.Sprintf("127.0.0.1:%d", p))
		if err != nil {
			t.Fatalf("port %d of the range not free: %v", p, err)
		}
		defer c.Close()
	}
}
