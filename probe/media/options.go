package media

import (
	"fmt"
	"time"
)

// Opt configures a Table.
type Opt interface{ apply(*cfg) }

type opt func(*cfg)

func (o opt) apply(c *cfg) { o(c) }

type cfg struct {
	maxEntries int
	ttl        time.Duration
	linger     time.Duration
}

func defaultCfg() cfg {
	return cfg{
		maxEntries: 200_000,
		ttl:        2 * time.Hour,
		linger:     5 * time.Second,
	}
}

// maxMaxEntries bounds MaxEntries: entry indexes are int32 and the key map
// stores index<<1, and 16M entries is already some 4 GiB.
const maxMaxEntries = 1 << 24

func (c *cfg) validate() error {
	switch {
	case c.maxEntries < 1 || c.maxEntries > maxMaxEntries:
		return fmt.Errorf("media: MaxEntries is %d, must be 1 to %d", c.maxEntries, maxMaxEntries)
	case c.ttl < time.Second:
		return fmt.Errorf("media: TTL is %v, must be at least 1s", c.ttl)
	case c.linger < 0:
		return fmt.Errorf("media: Linger is %v, must not be negative", c.linger)
	case c.linger > c.ttl:
		return fmt.Errorf("media: Linger %v is longer than TTL %v", c.linger, c.ttl)
	}
	return nil
}

// MaxEntries caps the media endpoints tracked, overriding the default
// 200,000: two per two-party call with one stream, so 100,000 concurrent
// calls, at some 250 bytes each plus the Call-ID. Beyond it the entry idle
// longest is evicted and counted, so a flood of INVITEs costs at most this
// much memory.
func MaxEntries(n int) Opt { return opt(func(c *cfg) { c.maxEntries = n }) }

// TTL expires an entry that no description and no Touch has refreshed for
// this long in capture time, overriding the default 2 hours. It is the
// backstop for calls whose BYE the probe never saw; a call that is still
// sending media stays as long as its packets Touch it.
func TTL(d time.Duration) Opt { return opt(func(c *cfg) { c.ttl = d }) }

// Linger keeps an ended call's entries this long in capture time after End,
// overriding the default 5 seconds, so that media still in flight when the
// BYE passes (and RTCP BYE packets, RFC 3550 §6.6) is tied to the call. 0
// removes them at once.
func Linger(d time.Duration) Opt { return opt(func(c *cfg) { c.linger = d }) }
