package main

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"os"

	"github.com/trunkscope/trunkscope/bus"
	"github.com/trunkscope/trunkscope/config"
)

// The production-path wiring: configuration to the clients of an external
// Kafka cluster and ClickHouse servers.

// tlsConfig builds a client TLS configuration; nil when TLS is off. field
// names the configuration section for errors.
func tlsConfig(field string, t config.TLS) (*tls.Config, error) {
	if !t.Enabled {
		return nil, nil
	}
	tc := &tls.Config{ServerName: t.ServerName, InsecureSkipVerify: t.InsecureSkipVerify, MinVersion: tls.VersionTLS12}
	if t.CAFile != "" {
		pem, err := os.ReadFile(t.CAFile)
		if err != nil {
			return nil, fmt.Errorf("%s.ca_file: %w", field, err)
		}
		tc.RootCAs = x509.NewCertPool()
		if !tc.RootCAs.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("%s.ca_file %s: no certificate in it", field, t.CAFile)
		}
	}
	if t.CertFile != "" {
		cert, err := tls.LoadX509KeyPair(t.CertFile, t.KeyFile)
		if err != nil {
			return nil, fmt.Errorf("%s.cert_file/key_file: %w", field, err)
		}
		tc.Certificates = []tls.Certificate{cert}
	}
	return tc, nil
}

// kafkaCluster is how this process reaches brokers: the configured
// security for external brokers, plain for the embedded one.
func kafkaCluster(cfg *config.Config, brokers []string, embedded bool) (bus.Cluster, error) {
	k := bus.Cluster{Brokers: brokers, ClientID: cfg.Kafka.ClientID}
	if embedded {
		return k, nil
	}
	var err error
	if k.TLS, err = tlsConfig("kafka.tls", cfg.Kafka.TLS); err != nil {
		return k, err
	}
	s := cfg.Kafka.SASL
	if k.SASL, err = bus.NewSASL(s.Mechanism, s.Username, s.Password); err != nil {
		return k, fmt.Errorf("kafka.sasl: %w", err)
	}
	return k, nil
}

// producerOptions maps kafka.producer to the bus producer.
func producerOptions(cfg *config.Config) bus.ProducerOptions {
	p := cfg.Kafka.Producer
	o := bus.ProducerOptions{BatchSize: p.BatchSize, Linger: p.Linger, BatchBytes: p.BatchBytes, Compression: p.Compression}
	switch p.Acks {
	case "leader":
		o.Acks = 1
	case "none":
		o.Acks = bus.AcksNone
	default:
		o.Acks = -1
	}
	return o
}

// newProducer returns a producer on the stack's brokers with the
// configured security and tuning.
func (s *stack) newProducer() *bus.Producer {
	return s.kafka.NewProducer(s.topics(), producerOptions(s.cfg))
}
