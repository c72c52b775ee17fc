package active

import (
	"fmt"
	"net/netip"

	"github.com/trunkscope/trunkscope/config"
)

// FromConfig returns the targets and options of every trunk with probe
// targets in cfg. insecure overrides probe.insecure_tls (the CLI's
// --insecure).
func FromConfig(cfg *config.Config, insecure bool) ([]MonitorTarget, MonitorOptions, error) {
	p := cfg.Probe
	o := MonitorOptions{ProbeID: cfg.ProbeID, Interval: p.Options.Interval, Jitter: p.Options.Jitter, Timeout: p.Options.Timeout,
		DownAfter: p.Options.DownAfter, UpAfter: p.Options.UpAfter}
	var ts []MonitorTarget
	for _, tr := range cfg.Trunks {
		if tr.Probe == nil {
			continue
		}
		for _, uri := range tr.Probe.Targets {
			t, err := TargetFromConfig(cfg, tr, uri, insecure)
			if err != nil {
				return nil, o, err
			}
			mt := MonitorTarget{Target: t, Interval: tr.Probe.Interval}
			if c := tr.Probe.Call; c != nil && c.Interval > 0 && uri == tr.Probe.Targets[0] {
				co := CallOptionsFromConfig(cfg, tr, c.To)
				mt.Call, mt.CallEvery = &co, c.Interval
			}
			ts = append(ts, mt)
		}
	}
	return ts, o, nil
}

// TargetFromConfig builds the target uri of trunk tr: the trunk's From,
// To, User-Agent and source over the probe-wide ones.
func TargetFromConfig(cfg *config.Config, tr config.Trunk, uri string, insecure bool) (Target, error) {
	p := cfg.Probe
	t := Target{Trunk: tr.Name, URI: uri, From: p.From, UserAgent: p.UserAgent, Insecure: p.InsecureTLS || insecure}
	src := p.Source
	if tp := tr.Probe; tp != nil {
		if !hasTransportParam(uri) {
			t.Transport = tp.Transport
		}
		t.From, t.To = orDefault(tp.From, t.From), tp.To
		t.UserAgent = orDefault(tp.UserAgent, t.UserAgent)
		src = orDefault(tp.Source, src)
	}
	if src != "" {
		a, err := netip.ParseAddr(src)
		if err != nil {
			return t, fmt.Errorf("active: trunk %s: source %q: %w", tr.Name, src, err)
		}
		t.Source = a
	}
	if p.CAFile != "" {
		pool, err := LoadCAs(p.CAFile)
		if err != nil {
			return t, err
		}
		t.RootCAs = pool
	}
	return t, nil
}

// CallOptionsFromConfig returns test-call options for trunk tr calling to.
func CallOptionsFromConfig(cfg *config.Config, tr config.Trunk, to string) CallOptions {
	k := cfg.Probe.Calls
	o := CallOptions{To: to, Duration: k.Duration, Timeout: k.Timeout, RingTimeout: k.RingTimeout, Codec: k.Codec}
	if tp := tr.Probe; tp != nil {
		if tp.Call != nil && tp.Call.Duration > 0 {
			o.Duration = tp.Call.Duration
		}
		if a := tp.Auth; a != nil {
			o.Auth = &Credentials{Username: a.Username, Password: a.Password.Reveal()}
		}
	}
	return o
}

func hasTransportParam(uri string) bool {
	for i := 0; i+10 <= len(uri); i++ {
		if uri[i] == ';' && (uri[i+1:i+10] == "transport" || uri[i+1:i+10] == "TRANSPORT") {
			return true
		}
	}
	return false
}
