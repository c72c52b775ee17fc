// Package config loads trunkscope's YAML configuration. Parsing is strict
// (unknown keys are errors); every section starts from its default and is
// validated with messages that name the field. The loaded *Config is passed
// down explicitly; there is no global configuration.
package config

import (
	"bytes"
	"embed"
	"fmt"
	"io"
	"io/fs"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

//go:embed defaults
var defaults embed.FS

// Config is the whole configuration.
type Config struct {
	ProbeID    string     `yaml:"probe_id"`
	Kafka      Kafka      `yaml:"kafka"`
	ClickHouse ClickHouse `yaml:"clickhouse"`
	Collector  Collector  `yaml:"collector"`
	Numbering  Numbering  `yaml:"numbering"`
	Trunks     []Trunk    `yaml:"trunks"`
	Decks      []Deck     `yaml:"decks"`
	Alerts     Alerts     `yaml:"alerts"`
	Probe      Probe      `yaml:"probe"`  // active probe (config/probe.go)
	Groups     []Group    `yaml:"groups"` // trunk groups with priorities
	Rating     Rating     `yaml:"rating"`

	// files resolves deck file names: the config file's directory, or the
	// embedded defaults.
	files fs.FS
	// Source names where the configuration came from, for logs.
	Source string `yaml:"-"`
}

// Kafka selects the broker. No brokers means the embedded one.
type Kafka struct {
	Brokers     []string `yaml:"brokers"`
	Partitions  int      `yaml:"partitions"`
	Replication int      `yaml:"replication"`
	Group       string   `yaml:"group"`
	Topics      Topics   `yaml:"topics"`
	// ClientID names this process to the brokers (quotas, broker logs).
	ClientID string    `yaml:"client_id"`
	TLS      TLS       `yaml:"tls"`
	SASL     KafkaSASL `yaml:"sasl"`
	Producer Producer  `yaml:"producer"`
}

// Topics names the event topics.
type Topics struct {
	SIP  string `yaml:"sip"`
	RTP  string `yaml:"rtp"`
	RTCP string `yaml:"rtcp"`
	// Probe carries active-probe results (OPTIONS pings, test calls).
	Probe string `yaml:"probe"`
}

// ClickHouse selects the store. No addresses means embedded chDB.
type ClickHouse struct {
	Addrs    []string `yaml:"addrs"`
	Database string   `yaml:"database"`
	User     string   `yaml:"user"`
	Password string   `yaml:"password"`
	// TLS connects to the server's secure native port.
	TLS TLS `yaml:"tls"`
	// RetentionDays, when set, expires raw events, CDRs and rollups older
	// than that many days (a TTL, on servers that have TTL: 19.6 and later,
	// and chDB; 18.16 has none and keeps everything, with a warning).
	RetentionDays int `yaml:"retention_days"`
	// Cluster, when set, names the cluster (remote_servers) the schema is
	// created on: Replicated*MergeTree local tables and Distributed tables
	// over them, ON CLUSTER. Empty: the single-node schema.
	Cluster string `yaml:"cluster"`
	// InsertQuorum, with a cluster, makes every insert wait until that many
	// replicas have it (and reads sequentially consistent), for collectors
	// that connect to different replicas of a shard. 0: off.
	InsertQuorum int `yaml:"insert_quorum"`
}

// TLS configures a client connection.
type TLS struct {
	Enabled            bool   `yaml:"enabled"`
	CAFile             string `yaml:"ca_file"`
	InsecureSkipVerify bool   `yaml:"insecure_skip_verify"`
	ServerName         string `yaml:"server_name"`
	// CertFile and KeyFile are a client certificate (mutual TLS).
	CertFile string `yaml:"cert_file"`
	KeyFile  string `yaml:"key_file"`
}

// Collector tunes CDR building.
type Collector struct {
	BatchSize         int           `yaml:"batch_size"`
	FlushInterval     time.Duration `yaml:"flush_interval"`
	InviteTimeout     time.Duration `yaml:"invite_timeout"`
	ProceedingTimeout time.Duration `yaml:"proceeding_timeout"`
	MaxDuration       time.Duration `yaml:"max_duration"`
	Linger            time.Duration `yaml:"linger"`
	// CorrelationHeader names a header (e.g. X-CID) whose value an SBC or
	// B2BUA copies from the customer leg to the carrier leg, tying the two
	// legs (different Call-IDs) into one call. HEP correlation ids (chunk
	// 0x11) are used without configuration.
	CorrelationHeader string `yaml:"correlation_header"`
}

// Numbering turns the digits a trunk sends into E.164 numbers.
type Numbering struct {
	// Country is the country code for national numbers ("31", "44").
	Country string `yaml:"country"`
	// NationalPrefix marks a national number ("0" in most of Europe).
	NationalPrefix string `yaml:"national_prefix"`
	// InternationalPrefix marks an international number ("00", "011").
	InternationalPrefix string `yaml:"international_prefix"`
	// Strip is a technical prefix the trunk puts before the number
	// (a carrier selection code, "1234#"); removed first.
	Strip string `yaml:"strip"`
	// Add is prepended after stripping (a trunk that drops the country).
	Add string `yaml:"add"`
}

// Trunk is a carrier or customer interconnect, recognised by the remote
// side's addresses and ports.
type Trunk struct {
	Name      string   `yaml:"name"`
	Addresses []string `yaml:"addresses"` // CIDRs or single addresses
	Ports     []uint16 `yaml:"ports"`     // empty: any port
	Channels  int      `yaml:"channels"`
	Deck      string   `yaml:"deck"`
	// HEPCaptureIDs and HEPNodes, when set, restrict the trunk to messages
	// a HEP sender with one of these capture agent IDs (chunk 0x0c) or node
	// names (0x13) mirrored: the same carrier address seen by two SBCs can
	// be two trunks.
	HEPCaptureIDs []uint32 `yaml:"hep_capture_ids"`
	HEPNodes      []string `yaml:"hep_nodes"`
	// Numbering overrides the global numbering rules for this trunk's
	// numbers; unset fields inherit them.
	Numbering *Numbering `yaml:"numbering"`
	// Probe, when set, monitors the trunk actively (config/probe.go).
	Probe *TrunkProbe `yaml:"probe"`

	Prefixes []netip.Prefix `yaml:"-"`
}

// Deck is a rate deck file.
type Deck struct {
	Name     string `yaml:"name"`
	File     string `yaml:"file"`
	Currency string `yaml:"currency"`
	Decimals *int   `yaml:"decimals"`
	Rounding string `yaml:"rounding"`
	// Format is carrier (a CSV deck, the default) or cgrates (a
	// directory with a CGRateS tariff plan); see README "Rating".
	Format string `yaml:"format"`
	// TimeZone is the deck's own zone for effective dates and bands.
	TimeZone string `yaml:"timezone"`
	// Bands names the deck's time bands: peak: "Mon-Fri 08:00-18:00".
	Bands map[string]string `yaml:"bands"`
	// Tenant, Category and Subject select a CGRateS rating profile
	// (defaults: the plan's only tenant, "call", "*any").
	Tenant   string `yaml:"tenant"`
	Category string `yaml:"category"`
	Subject  string `yaml:"subject"`
}

// Default returns the built-in configuration.
func Default() *Config {
	b, err := defaults.ReadFile("defaults/trunkscope.yml")
	if err != nil {
		panic(fmt.Sprintf("config: embedded defaults missing: %v", err)) // a build defect
	}
	sub, _ := fs.Sub(defaults, "defaults")
	c, err := parse(b, sub)
	if err != nil {
		panic(fmt.Sprintf("config: embedded defaults invalid: %v", err)) // a build defect
	}
	c.Source = "built-in defaults"
	return c
}

// DefaultYAML returns the built-in configuration file's text.
func DefaultYAML() []byte {
	b, _ := defaults.ReadFile("defaults/trunkscope.yml")
	return b
}

// Load reads the file at path; an empty path gives the built-in defaults.
func Load(path string) (*Config, error) {
	if path == "" {
		return Default(), nil
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	c, err := parse(b, os.DirFS(filepath.Dir(path)))
	if err != nil {
		return nil, fmt.Errorf("config: %s: %w", path, err)
	}
	c.Source = path
	return c, nil
}

func parse(b []byte, files fs.FS) (*Config, error) {
	c := &Config{
		ProbeID:    "probe-1",
		Kafka:      Kafka{Partitions: 4, Replication: 1, Group: "trunkscope-collector", Topics: Topics{SIP: "trunkscope.sip", RTP: "trunkscope.rtp", RTCP: "trunkscope.rtcp", Probe: "trunkscope.probe"}},
		ClickHouse: ClickHouse{Database: "trunkscope"},
		Numbering:  Numbering{NationalPrefix: "0", InternationalPrefix: "00"},
		Collector: Collector{BatchSize: 20000, FlushInterval: time.Second, InviteTimeout: 32 * time.Second, ProceedingTimeout: 3 * time.Minute,
			MaxDuration: 4 * time.Hour, Linger: 32 * time.Second},
		Alerts: DefaultAlerts(),
		Probe:  defaultProbe(),
		files:  files,
	}
	c.Kafka.ClientID, c.Kafka.Producer = "trunkscope", defaultProducer()
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	if err := dec.Decode(c); err != nil && err != io.EOF {
		return nil, err
	}
	return c, c.validate()
}

func (c *Config) validate() error {
	if c.ProbeID == "" {
		return fmt.Errorf("probe_id is empty")
	}
	if c.Kafka.Partitions < 1 {
		return fmt.Errorf("kafka.partitions: %d, must be at least 1", c.Kafka.Partitions)
	}
	if c.Kafka.Replication < 1 {
		return fmt.Errorf("kafka.replication: %d, must be at least 1", c.Kafka.Replication)
	}
	if c.Kafka.Group == "" || c.Kafka.Topics.SIP == "" || c.Kafka.Topics.RTP == "" || c.Kafka.Topics.RTCP == "" {
		return fmt.Errorf("kafka: group, topics.sip, topics.rtp and topics.rtcp must be set")
	}
	if c.ClickHouse.Database == "" || strings.ContainsAny(c.ClickHouse.Database, "`'\" .;") {
		return fmt.Errorf("clickhouse.database: %q is not a plain database name", c.ClickHouse.Database)
	}
	if err := c.validateDeploy(); err != nil {
		return err
	}
	col := c.Collector
	if col.BatchSize < 1 || col.FlushInterval <= 0 || col.InviteTimeout <= 0 || col.ProceedingTimeout <= 0 || col.MaxDuration <= 0 || col.Linger < 0 {
		return fmt.Errorf("collector: batch_size, flush_interval, invite_timeout and max_duration must be positive")
	}
	if err := c.Alerts.validate(); err != nil {
		return err
	}
	decks := map[string]bool{}
	for i, d := range c.Decks {
		if d.Name == "" {
			return fmt.Errorf("decks[%d]: name is empty", i)
		}
		if decks[d.Name] {
			return fmt.Errorf("decks[%d]: duplicate deck %q", i, d.Name)
		}
		if d.File == "" {
			return fmt.Errorf("deck %q: file is empty", d.Name)
		}
		decks[d.Name] = true
	}
	names := map[string]bool{}
	for i := range c.Trunks {
		t := &c.Trunks[i]
		if t.Name == "" {
			return fmt.Errorf("trunks[%d]: name is empty", i)
		}
		if names[t.Name] {
			return fmt.Errorf("trunks[%d]: duplicate trunk %q", i, t.Name)
		}
		names[t.Name] = true
		if len(t.Addresses) == 0 {
			return fmt.Errorf("trunk %q: addresses is empty", t.Name)
		}
		t.Prefixes = t.Prefixes[:0]
		for _, a := range t.Addresses {
			p, err := parsePrefix(a)
			if err != nil {
				return fmt.Errorf("trunk %q: address %q: %w", t.Name, a, err)
			}
			t.Prefixes = append(t.Prefixes, p)
		}
		if t.Numbering != nil {
			n := c.Numbering
			if t.Numbering.Country != "" {
				n.Country = t.Numbering.Country
			}
			if t.Numbering.NationalPrefix != "" {
				n.NationalPrefix = t.Numbering.NationalPrefix
			}
			if t.Numbering.InternationalPrefix != "" {
				n.InternationalPrefix = t.Numbering.InternationalPrefix
			}
			n.Strip, n.Add = t.Numbering.Strip, t.Numbering.Add
			*t.Numbering = n
		}
		if t.Channels < 0 {
			return fmt.Errorf("trunk %q: channels %d is negative", t.Name, t.Channels)
		}
		if t.Deck != "" && !decks[t.Deck] {
			return fmt.Errorf("trunk %q: deck %q is not defined under decks", t.Name, t.Deck)
		}
	}
	if err := c.validateProbe(); err != nil {
		return err
	}
	return c.validateRating(decks, names)
}

func parsePrefix(s string) (netip.Prefix, error) {
	if strings.Contains(s, "/") {
		p, err := netip.ParsePrefix(s)
		return p.Masked(), err
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Prefix{}, err
	}
	return netip.PrefixFrom(a, a.BitLen()), nil
}

// OpenDeck opens a deck's file: relative names are resolved against the
// config file's directory (or the built-in defaults).
func (c *Config) OpenDeck(d Deck) (io.ReadCloser, error) {
	if filepath.IsAbs(d.File) {
		return os.Open(d.File)
	}
	f, err := c.files.Open(filepath.ToSlash(d.File))
	if err != nil {
		return nil, fmt.Errorf("config: deck %q: %w", d.Name, err)
	}
	return f, nil
}

// Embedded reports whether the embedded broker and store are used.
func (c *Config) Embedded() (broker, store bool) {
	return len(c.Kafka.Brokers) == 0, len(c.ClickHouse.Addrs) == 0
}
