package hep

import (
	"fmt"
	"time"
)

// Opt configures a Server.
type Opt interface{ apply(*cfg) }

type opt func(*cfg)

func (o opt) apply(c *cfg) { o(c) }

type cfg struct {
	authKey     []byte
	maxTCPConns int
	readTimeout time.Duration
}

func defaultCfg() cfg {
	return cfg{
		maxTCPConns: 256,
		readTimeout: 5 * time.Minute,
	}
}

// maxAuthKey bounds AuthKey to what fits a chunk.
const maxAuthKey = MaxPacket - 6 - 6

func (c *cfg) validate() error {
	switch {
	case len(c.authKey) > maxAuthKey:
		return fmt.Errorf("hep: AuthKey is %d bytes, over %d", len(c.authKey), maxAuthKey)
	case c.maxTCPConns < 0:
		return fmt.Errorf("hep: MaxTCPConns is %d, must be 0 (no TCP) or more", c.maxTCPConns)
	case c.readTimeout < 0:
		return fmt.Errorf("hep: ReadTimeout is %v, must be 0 (none) or positive", c.readTimeout)
	}
	return nil
}

// AuthKey makes the server accept only packets whose auth key chunk (0x0e)
// equals key, overriding the default of accepting every packet. HEP v1 and
// v2 have no auth key, so with a key set they are all rejected. The key is
// sent in clear text: it tells a misconfigured sender from a right one, it
// does not stop an attacker who can see the traffic. An empty key means
// none.
func AuthKey(key string) Opt {
	return opt(func(c *cfg) {
		c.authKey = nil
		if key != "" {
			c.authKey = []byte(key)
		}
	})
}

// MaxTCPConns bounds the TCP connections served at once, overriding the
// default 256. Each holds a 64 KiB frame buffer, so the bound is also one on
// memory (256 connections: 16 MiB). Connections beyond it are closed at
// once and counted. 0 accepts no TCP connections at all.
func MaxTCPConns(n int) Opt { return opt(func(c *cfg) { c.maxTCPConns = n }) }

// ReadTimeout closes a TCP connection that sends nothing for d, overriding
// the default 5 minutes, so that senders that vanish without a FIN do not
// hold connection slots for ever. Senders reconnect when their connection
// drops; raise it for quiet links. 0 disables the timeout.
func ReadTimeout(d time.Duration) Opt { return opt(func(c *cfg) { c.readTimeout = d }) }
