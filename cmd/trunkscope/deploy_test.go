package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/trunkscope/trunkscope/bus"
	"github.com/trunkscope/trunkscope/config"
)

func TestTLSConfigErrors(t *testing.T) {
	dir := t.TempDir()
	notPEM := filepath.Join(dir, "ca.pem")
	os.WriteFile(notPEM, []byte("not a certificate"), 0o644)
	for _, tc := range []struct {
		tls  config.TLS
		want string
	}{
		{config.TLS{Enabled: true, CAFile: filepath.Join(dir, "missing.pem")}, "kafka.tls.ca_file"},
		{config.TLS{Enabled: true, CAFile: notPEM}, "no certificate in it"},
		{config.TLS{Enabled: true, CertFile: notPEM, KeyFile: notPEM}, "kafka.tls.cert_file/key_file"},
	} {
		if _, err := tlsConfig("kafka.tls", tc.tls); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v: %v, want an error naming %q", tc.tls, err, tc.want)
		}
	}
	if tc, err := tlsConfig("kafka.tls", config.TLS{}); tc != nil || err != nil {
		t.Fatalf("TLS off: %v %v", tc, err)
	}
}

func TestKafkaClusterFromConfig(t *testing.T) {
	cfg := config.Default()
	cfg.Kafka.SASL = config.KafkaSASL{Mechanism: "SCRAM-SHA-256", Username: "u", Password: "p"}
	cfg.Kafka.TLS.Enabled = true
	k, err := kafkaCluster(cfg, []string{"k:9093"}, false)
	if err != nil || k.SASL == nil || k.TLS == nil || k.ClientID != "trunkscope" {
		t.Fatalf("external: %+v %v", k, err)
	}
	// The embedded broker is plain, whatever the configuration says.
	if k, _ := kafkaCluster(cfg, []string{"127.0.0.1:1"}, true); k.SASL != nil || k.TLS != nil {
		t.Fatalf("embedded: %+v", k)
	}
	for acks, want := range map[string]int{"all": -1, "leader": 1, "none": bus.AcksNone} {
		cfg.Kafka.Producer.Acks = acks
		if o := producerOptions(cfg); o.Acks != want || o.Compression != "lz4" || o.BatchSize != 2000 {
			t.Errorf("acks %s: %+v", acks, o)
		}
	}
}
