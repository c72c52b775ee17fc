package config

import (
	"fmt"
	"time"
)

// Alerts configures the alert rules and where notifications go (the
// `alerts` role). Rules left out of the file keep the built-in defaults;
// a rule's unset fields take its kind's defaults (alert.Defaults).
type Alerts struct {
	// Interval is how often rules are evaluated, in event time.
	Interval time.Duration `yaml:"interval"`
	// InRun evaluates the rules inside `trunkscope run` too (the `alerts`
	// role does it on its own).
	InRun bool `yaml:"in_run"`
	// StateFile keeps the alert states across restarts; default
	// DATA/alerts/state.json.
	StateFile string `yaml:"state_file"`
	// DashboardURL is Grafana's base URL, for links in annotations.
	DashboardURL string `yaml:"dashboard_url"`
	// Alertmanager receives alerts through its API v2.
	Alertmanager AlertmanagerTarget `yaml:"alertmanager"`
	// Webhooks receive every state change as JSON.
	Webhooks []Webhook `yaml:"webhooks"`
	// Rules replace the default rule set when given.
	Rules []AlertRule `yaml:"rules"`
}

// AlertmanagerTarget is one or more Alertmanager instances (an HA pair
// gets every alert).
type AlertmanagerTarget struct {
	URLs        []string `yaml:"urls"`
	BearerToken string   `yaml:"bearer_token"`
}

// Webhook is a JSON receiver. With Secret set, each request carries an
// HMAC-SHA256 signature of its timestamp and body.
type Webhook struct {
	URL     string        `yaml:"url"`
	Secret  string        `yaml:"secret"`
	Timeout time.Duration `yaml:"timeout"`
	Retries int           `yaml:"retries"`
}

// AlertRule is one rule; Kind selects what it measures.
type AlertRule struct {
	Name     string   `yaml:"name"`
	Kind     string   `yaml:"kind"` // code_spike, mos_drop, asr_drop, options_down, channel_utilisation
	Severity string   `yaml:"severity"`
	Trunks   []string `yaml:"trunks"` // empty: every trunk
	Disabled bool     `yaml:"disabled"`

	Window   time.Duration `yaml:"window"`
	Baseline time.Duration `yaml:"baseline"`
	For      time.Duration `yaml:"for"`
	// KeepFiringFor holds a firing alert this long after its condition
	// clears (no flapping).
	KeepFiringFor time.Duration `yaml:"keep_firing_for"`

	// code_spike: final Code in the window, at least MinCount of at least
	// MinAttempts attempts, a share of at least Ratio, and at least Factor
	// times the baseline's share (the onset) or a baseline share itself
	// at least Ratio (a sustained incident the baseline has absorbed).
	Code        int     `yaml:"code"`
	MinAttempts int     `yaml:"min_attempts"`
	MinCount    int     `yaml:"min_count"`
	Ratio       float64 `yaml:"ratio"`
	Factor      float64 `yaml:"factor"`

	// mos_drop: at least MinCalls calls with media, and mean MOS below
	// MOSMean, or the 10th percentile below MOSP10, or the mean fallen by
	// MOSDrop against the baseline.
	MinCalls int     `yaml:"min_calls"`
	MOSMean  float64 `yaml:"mos_mean"`
	MOSP10   float64 `yaml:"mos_p10"`
	MOSDrop  float64 `yaml:"mos_drop"`

	// asr_drop: ASR below ASRMin, or fallen by ASRDrop (absolute) against
	// the baseline, with MinAttempts in the window.
	ASRMin  float64 `yaml:"asr_min"`
	ASRDrop float64 `yaml:"asr_drop"`

	// channel_utilisation: peak concurrent legs / channels at least this.
	Utilisation float64 `yaml:"utilisation"`
}

func (a *Alerts) validate() error {
	if a.Interval <= 0 {
		return fmt.Errorf("alerts.interval: must be positive")
	}
	names := map[string]bool{}
	for i, r := range a.Rules {
		if r.Name == "" {
			return fmt.Errorf("alerts.rules[%d]: name is empty", i)
		}
		if names[r.Name] {
			return fmt.Errorf("alerts.rules[%d]: duplicate rule %q", i, r.Name)
		}
		names[r.Name] = true
		switch r.Kind {
		case "code_spike", "mos_drop", "asr_drop", "options_down", "channel_utilisation":
		default:
			return fmt.Errorf("alerts rule %q: kind %q: want code_spike, mos_drop, asr_drop, options_down or channel_utilisation", r.Name, r.Kind)
		}
		if r.Kind == "code_spike" && (r.Code < 100 || r.Code > 699) {
			return fmt.Errorf("alerts rule %q: code %d is not a SIP response code", r.Name, r.Code)
		}
		if r.Window < 0 || r.Baseline < 0 || r.For < 0 || r.KeepFiringFor < 0 {
			return fmt.Errorf("alerts rule %q: durations must not be negative", r.Name)
		}
	}
	for i, w := range a.Webhooks {
		if w.URL == "" {
			return fmt.Errorf("alerts.webhooks[%d]: url is empty", i)
		}
	}
	return nil
}

// DefaultAlerts is the built-in alerting section: evaluation every
// minute and the default rule set (which alert.Defaults completes).
func DefaultAlerts() Alerts {
	return Alerts{Interval: time.Minute, InRun: true, Rules: []AlertRule{
		{Name: "sip_503_spike", Kind: "code_spike", Code: 503, Severity: "critical"},
		{Name: "sip_408_spike", Kind: "code_spike", Code: 408, Severity: "warning"},
		{Name: "mos_drop", Kind: "mos_drop", Severity: "critical"},
		{Name: "asr_drop", Kind: "asr_drop", Severity: "warning"},
		{Name: "options_down", Kind: "options_down", Severity: "critical"},
		{Name: "channel_utilisation", Kind: "channel_utilisation", Severity: "warning"},
	}}
}
