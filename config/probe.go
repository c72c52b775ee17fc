package config

import (
	"fmt"
	"log/slog"
	"net/netip"
	"os"
	"strings"
	"time"

	"github.com/emiago/sipgo/sip"
)

// Probe configures the active probe (OPTIONS monitoring and test calls).
// Its values are defaults that a trunk's own `probe:` section overrides.
type Probe struct {
	Options ProbeOptions `yaml:"options"`
	Calls   ProbeCalls   `yaml:"calls"`
	// From is the From URI of pings and calls (default
	// sip:trunkscope@<local address>); UserAgent the User-Agent header.
	From      string `yaml:"from"`
	UserAgent string `yaml:"user_agent"`
	// Source is the local IP address requests (and test-call RTP) are sent
	// from; empty: the kernel's choice for the route.
	Source string `yaml:"source"`
	// CAFile verifies TLS targets against these CAs instead of the system
	// pool; InsecureTLS skips verification (labs with self-signed
	// certificates only: the result of a ping then proves nothing about the
	// peer's identity).
	CAFile      string `yaml:"ca_file"`
	InsecureTLS bool   `yaml:"insecure_tls"`
}

// ProbeOptions tunes OPTIONS monitoring.
type ProbeOptions struct {
	// Interval between pings of one target, plus a random Jitter in
	// [0, jitter) so that many probes do not ping in step.
	Interval time.Duration `yaml:"interval"`
	Jitter   time.Duration `yaml:"jitter"`
	// Timeout is how long a ping waits for a final response (well under
	// Timer F's 32 s: a silent target is reported at this deadline).
	Timeout time.Duration `yaml:"timeout"`
	// DownAfter consecutive failures take a target down; UpAfter
	// consecutive successes bring it back up. In between it is degraded.
	DownAfter int `yaml:"down_after"`
	UpAfter   int `yaml:"up_after"`
}

// ProbeCalls tunes test calls.
type ProbeCalls struct {
	// Timeout is how long an INVITE waits for any response but 100 Trying
	// before the call is a timeout (well under Timer B's 32 s).
	Timeout time.Duration `yaml:"timeout"`
	// RingTimeout is how long a ringing call may go unanswered before it
	// is cancelled (CANCEL) and reported as such.
	RingTimeout time.Duration `yaml:"ring_timeout"`
	// Duration is how long an answered call sends and receives audio.
	Duration time.Duration `yaml:"duration"`
	// Codec offered first: PCMU or PCMA (both are offered).
	Codec string `yaml:"codec"`
}

// TrunkProbe is a trunk's active-probe section.
type TrunkProbe struct {
	// Targets are SIP URIs to ping (sip:198.51.100.10:5060,
	// sip:sbc.example.net;transport=tcp, sips:sbc.example.net:5061).
	Targets []string `yaml:"targets"`
	// Transport is used for targets without a transport parameter: udp
	// (default), tcp or tls.
	Transport string `yaml:"transport"`
	// From, To, UserAgent and Source override the probe-wide values; To
	// defaults to the target URI.
	From      string `yaml:"from"`
	To        string `yaml:"to"`
	UserAgent string `yaml:"user_agent"`
	Source    string `yaml:"source"`
	// Interval overrides probe.options.interval for this trunk.
	Interval time.Duration `yaml:"interval"`
	// Auth answers 401 and 407 challenges to test calls.
	Auth *Auth `yaml:"auth"`
	// Call schedules test calls through the trunk.
	Call *TrunkCall `yaml:"call"`
}

// TrunkCall schedules test calls.
type TrunkCall struct {
	// To is the number (or URI user) to call, e.g. a carrier's echo or
	// announcement number.
	To string `yaml:"to"`
	// Interval between scheduled calls; 0: on demand only
	// (trunkscope probe call).
	Interval time.Duration `yaml:"interval"`
	// Duration overrides probe.calls.duration.
	Duration time.Duration `yaml:"duration"`
}

// Auth holds digest credentials. The password is a Secret: it prints and
// logs as "[redacted]".
type Auth struct {
	Username string `yaml:"username"`
	Password Secret `yaml:"password"`
	// PasswordEnv names an environment variable holding the password, so
	// that the file need not contain it.
	PasswordEnv string `yaml:"password_env"`
}

// Secret is a string that never prints: fmt, slog and YAML/JSON output show
// "[redacted]". Reveal returns the value for the one place that needs it.
type Secret string

const redacted = "[redacted]"

func (s Secret) String() string               { return redacted }
func (s Secret) GoString() string             { return redacted }
func (s Secret) LogValue() slog.Value         { return slog.StringValue(redacted) }
func (s Secret) MarshalYAML() (any, error)    { return redacted, nil }
func (s Secret) MarshalText() ([]byte, error) { return []byte(redacted), nil }

// Reveal returns the secret's value.
func (s Secret) Reveal() string { return string(s) }

// Group is a set of trunks that carry the same traffic in priority order
// (primary, backup, ...): failover verification checks that when a
// higher-priority trunk is down, calls move to the next.
type Group struct {
	Name   string        `yaml:"name"`
	Trunks []GroupMember `yaml:"trunks"`
}

// GroupMember is one trunk of a group; a lower Priority is preferred (1 =
// primary).
type GroupMember struct {
	Trunk    string `yaml:"trunk"`
	Priority int    `yaml:"priority"`
}

func defaultProbe() Probe {
	return Probe{
		Options:   ProbeOptions{Interval: 30 * time.Second, Jitter: 3 * time.Second, Timeout: 2 * time.Second, DownAfter: 3, UpAfter: 2},
		Calls:     ProbeCalls{Timeout: 8 * time.Second, RingTimeout: 30 * time.Second, Duration: 10 * time.Second, Codec: "PCMU"},
		UserAgent: "trunkscope",
	}
}

func (c *Config) validateProbe() error {
	p := &c.Probe
	o := p.Options
	if o.Interval <= 0 || o.Timeout <= 0 || o.Jitter < 0 {
		return fmt.Errorf("probe.options: interval and timeout must be positive, jitter not negative")
	}
	if o.DownAfter < 1 || o.UpAfter < 1 {
		return fmt.Errorf("probe.options: down_after and up_after must be at least 1")
	}
	if k := p.Calls; k.Timeout <= 0 || k.RingTimeout <= 0 || k.Duration <= 0 {
		return fmt.Errorf("probe.calls: timeout, ring_timeout and duration must be positive")
	}
	switch strings.ToUpper(p.Calls.Codec) {
	case "PCMU", "PCMA":
		p.Calls.Codec = strings.ToUpper(p.Calls.Codec)
	default:
		return fmt.Errorf("probe.calls.codec: %q, want PCMU or PCMA", p.Calls.Codec)
	}
	if err := checkSource("probe.source", p.Source); err != nil {
		return err
	}
	if p.From != "" {
		if err := checkURI("probe.from", p.From); err != nil {
			return err
		}
	}
	trunks := map[string]bool{}
	for i := range c.Trunks {
		t := &c.Trunks[i]
		trunks[t.Name] = true
		tp := t.Probe
		if tp == nil {
			continue
		}
		where := fmt.Sprintf("trunk %q: probe", t.Name)
		switch tp.Transport {
		case "":
			tp.Transport = "udp"
		case "udp", "tcp", "tls":
		default:
			return fmt.Errorf("%s.transport: %q, want udp, tcp or tls", where, tp.Transport)
		}
		for _, u := range tp.Targets {
			if err := checkURI(where+".targets", u); err != nil {
				return err
			}
		}
		for _, f := range [][2]string{{"from", tp.From}, {"to", tp.To}} {
			if f[1] != "" {
				if err := checkURI(where+"."+f[0], f[1]); err != nil {
					return err
				}
			}
		}
		if err := checkSource(where+".source", tp.Source); err != nil {
			return err
		}
		if tp.Interval < 0 {
			return fmt.Errorf("%s.interval: negative", where)
		}
		if a := tp.Auth; a != nil {
			if a.Username == "" {
				return fmt.Errorf("%s.auth.username is empty", where)
			}
			if a.PasswordEnv != "" {
				if a.Password != "" {
					return fmt.Errorf("%s.auth: give password or password_env, not both", where)
				}
				v, ok := os.LookupEnv(a.PasswordEnv)
				if !ok {
					return fmt.Errorf("%s.auth.password_env: environment variable %s is not set", where, a.PasswordEnv)
				}
				a.Password = Secret(v)
			}
		}
		if k := tp.Call; k != nil {
			if k.To == "" {
				return fmt.Errorf("%s.call.to is empty", where)
			}
			if k.Interval < 0 || k.Duration < 0 {
				return fmt.Errorf("%s.call: interval and duration must not be negative", where)
			}
			if len(tp.Targets) == 0 {
				return fmt.Errorf("%s.call: the trunk has no probe.targets to call through", where)
			}
		}
	}
	groups := map[string]bool{}
	for i, g := range c.Groups {
		if g.Name == "" {
			return fmt.Errorf("groups[%d]: name is empty", i)
		}
		if groups[g.Name] {
			return fmt.Errorf("groups[%d]: duplicate group %q", i, g.Name)
		}
		groups[g.Name] = true
		if len(g.Trunks) < 2 {
			return fmt.Errorf("group %q: needs at least two trunks (a primary and a backup)", g.Name)
		}
		seen := map[string]bool{}
		for _, m := range g.Trunks {
			if !trunks[m.Trunk] {
				return fmt.Errorf("group %q: trunk %q is not defined under trunks", g.Name, m.Trunk)
			}
			if seen[m.Trunk] {
				return fmt.Errorf("group %q: trunk %q listed twice", g.Name, m.Trunk)
			}
			seen[m.Trunk] = true
			if m.Priority < 1 {
				return fmt.Errorf("group %q: trunk %q: priority %d, must be 1 (primary) or more", g.Name, m.Trunk, m.Priority)
			}
		}
	}
	return nil
}

func checkURI(where, u string) error {
	if !strings.HasPrefix(u, "sip:") && !strings.HasPrefix(u, "sips:") {
		return fmt.Errorf("%s: %q is not a sip: or sips: URI", where, u)
	}
	var uri sip.Uri
	if err := sip.ParseUri(u, &uri); err != nil || uri.Host == "" {
		return fmt.Errorf("%s: %q is not a valid SIP URI", where, u)
	}
	if uri.Password != "" {
		return fmt.Errorf("%s: %q carries a password; use probe.auth", where, "(redacted)")
	}
	return nil
}

func checkSource(where, s string) error {
	if s == "" {
		return nil
	}
	if _, err := netip.ParseAddr(s); err != nil {
		return fmt.Errorf("%s: %q is not an IP address", where, s)
	}
	return nil
}
