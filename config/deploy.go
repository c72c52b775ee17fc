package config

import (
	"fmt"
	"regexp"
	"time"
)

// The production-path settings: how to reach an external Kafka cluster
// (security, producer tuning) and a ClickHouse cluster. They are used only
// when kafka.brokers / clickhouse.addrs name servers; the embedded engines
// ignore them.

// KafkaSASL authenticates to the brokers. Mechanism is "" (none), PLAIN,
// SCRAM-SHA-256 or SCRAM-SHA-512. PLAIN sends the password as is: use it
// with TLS only.
type KafkaSASL struct {
	Mechanism string `yaml:"mechanism"`
	Username  string `yaml:"username"`
	Password  string `yaml:"password"`
}

// Producer tunes how probes publish. The defaults favour no loss over
// latency: every in-sync replica acknowledges (acks all).
type Producer struct {
	// Acks is all (every in-sync replica, default), leader, or none.
	Acks string `yaml:"acks"`
	// BatchSize is how many events are buffered per write (default 2000).
	BatchSize int `yaml:"batch_size"`
	// Linger is how long a partial batch waits for more events (default
	// 5ms); longer lingers mean fewer, larger requests.
	Linger time.Duration `yaml:"linger"`
	// BatchBytes caps one request's size (default 64 MiB; the broker's
	// message.max.bytes must allow it).
	BatchBytes int `yaml:"batch_bytes"`
	// Compression is lz4 (default), zstd, snappy, gzip or none.
	Compression string `yaml:"compression"`
}

func defaultProducer() Producer {
	return Producer{Acks: "all", BatchSize: 2000, Linger: 5 * time.Millisecond, BatchBytes: 64 << 20, Compression: "lz4"}
}

var clusterName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

func (c *Config) validateDeploy() error {
	k := c.Kafka
	switch k.SASL.Mechanism {
	case "":
	case "PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512":
		if k.SASL.Username == "" {
			return fmt.Errorf("kafka.sasl.username: empty with mechanism %s", k.SASL.Mechanism)
		}
	default:
		return fmt.Errorf("kafka.sasl.mechanism: %q, want PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512", k.SASL.Mechanism)
	}
	if (k.TLS.CertFile == "") != (k.TLS.KeyFile == "") {
		return fmt.Errorf("kafka.tls: cert_file and key_file go together")
	}
	if (c.ClickHouse.TLS.CertFile == "") != (c.ClickHouse.TLS.KeyFile == "") {
		return fmt.Errorf("clickhouse.tls: cert_file and key_file go together")
	}
	p := k.Producer
	switch p.Acks {
	case "all", "leader", "none":
	default:
		return fmt.Errorf("kafka.producer.acks: %q, want all, leader or none", p.Acks)
	}
	switch p.Compression {
	case "lz4", "zstd", "snappy", "gzip", "none":
	default:
		return fmt.Errorf("kafka.producer.compression: %q, want lz4, zstd, snappy, gzip or none", p.Compression)
	}
	if p.BatchSize < 1 || p.Linger < 0 || p.BatchBytes < 1<<10 {
		return fmt.Errorf("kafka.producer: batch_size must be positive, linger not negative, batch_bytes at least 1024")
	}
	ch := c.ClickHouse
	if ch.Cluster != "" && !clusterName.MatchString(ch.Cluster) {
		return fmt.Errorf("clickhouse.cluster: %q is not a plain cluster name", ch.Cluster)
	}
	if ch.InsertQuorum < 0 {
		return fmt.Errorf("clickhouse.insert_quorum: %d is negative", ch.InsertQuorum)
	}
	if ch.InsertQuorum > 0 && ch.Cluster == "" {
		return fmt.Errorf("clickhouse.insert_quorum needs clickhouse.cluster (replicated tables)")
	}
	return nil
}
