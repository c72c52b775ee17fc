package config

import (
	"io"
	"path/filepath"
	"strings"
	"testing"
)

func TestDefaultIsValidAndDecksOpen(t *testing.T) {
	c := Default()
	if len(c.Trunks) < 3 {
		t.Fatalf("default has %d trunks", len(c.Trunks))
	}
	for _, d := range c.Decks {
		f, err := c.OpenDeck(d)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(f)
		f.Close()
		if !strings.HasPrefix(string(b), "prefix,") {
			t.Fatalf("deck %s: %q", d.Name, b)
		}
	}
}

func TestGoodConfig(t *testing.T) {
	c, err := Load(filepath.Join("testdata", "good.yml"))
	if err != nil {
		t.Fatal(err)
	}
	tr := c.Trunks[0]
	if c.ProbeID != "edge-7" || len(tr.Prefixes) != 2 || tr.Prefixes[1].Bits() != 128 || tr.Channels != 90 {
		t.Fatalf("parsed %+v", c)
	}
	if c.Collector.InviteTimeout.Seconds() != 32 || c.Kafka.Topics.SIP != "trunkscope.sip" {
		t.Fatal("defaults not applied to unset sections")
	}
	f, err := c.OpenDeck(c.Decks[0])
	if err != nil {
		t.Fatalf("deck relative to the config file: %v", err)
	}
	f.Close()
}

func TestBadConfigs(t *testing.T) {
	for _, tc := range []struct{ file, wantErr string }{
		{"unknown_key.bad.yml", "field traunks not found"},
		{"bad_cidr.bad.yml", `trunk "t": address "10.0.0.300/8"`},
		{"no_name.bad.yml", "trunks[0]: name is empty"},
		{"dup_trunk.bad.yml", `duplicate trunk "t"`},
		{"missing_deck.bad.yml", `deck "nope" is not defined`},
		{"bad_db.bad.yml", "not a plain database name"},
		{"zero_parts.bad.yml", "kafka.partitions: 0"},
		{"does_not_exist.yml", "no such file"},
		{"sasl.bad.yml", `kafka.sasl.mechanism: "GSSAPI"`},
		{"quorum.bad.yml", "insert_quorum needs clickhouse.cluster"},
	} {
		_, err := Load(filepath.Join("testdata", tc.file))
		if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
			t.Errorf("%s: got %v, want error containing %q", tc.file, err, tc.wantErr)
		}
	}
}

func TestProductionConfig(t *testing.T) {
	c, err := Load(filepath.Join("testdata", "cluster.good.yml"))
	if err != nil {
		t.Fatal(err)
	}
	k, ch := c.Kafka, c.ClickHouse
	if k.SASL.Mechanism != "SCRAM-SHA-512" || !k.TLS.Enabled || k.Producer.Acks != "leader" || k.Producer.Linger.Milliseconds() != 20 ||
		k.Producer.Compression != "zstd" || k.Producer.BatchBytes != 64<<20 || k.ClientID != "trunkscope" {
		t.Fatalf("kafka parsed as %+v", k)
	}
	if ch.Cluster != "trunkscope" || ch.InsertQuorum != 2 || len(ch.Addrs) != 2 {
		t.Fatalf("clickhouse parsed as %+v", ch)
	}
	if d := Default(); d.Kafka.Producer.Acks != "all" || d.ClickHouse.Cluster != "" {
		t.Fatalf("defaults: %+v %+v", d.Kafka.Producer, d.ClickHouse)
	}
}
