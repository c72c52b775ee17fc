// Package kafkatest runs Apache Kafka for tests: a single KRaft node
// (broker and controller in one JVM) on loopback ports of its own, its log
// directory in a temporary directory. The broker's jars come from Maven
// Central through ./scripts/setup --servers (cached under
// ~/.cache/trunkscope/kafka/VERSION); a missing or damaged cache fails the
// test with that command, never a skip.
//
// A JVM takes a few seconds to start, so a test package shares one broker
// (Shared) and stops it from TestMain (StopShared); tests that need their
// own use Start.
package kafkatest

import (
	"bufio"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"
)

// Version is the Apache Kafka release scripts/setup fetches (keep in step
// with KAFKA_VERSION there).
const Version = "4.1.1"

// Credentials the broker's SASL listener accepts: PLAIN for PlainUser,
// SCRAM-SHA-256 and SCRAM-SHA-512 for ScramUser.
const (
	PlainUser, PlainPassword = "alice", "alice-secret"
	ScramUser, ScramPassword = "bob", "bob-secret"
)

// Broker is a running single-node Kafka.
type Broker struct {
	// Addr is the PLAINTEXT listener, host:port.
	Addr string
	// SASLAddr is the SASL_PLAINTEXT listener (PLAIN, SCRAM-SHA-256,
	// SCRAM-SHA-512).
	SASLAddr string
	// TLSAddr is the SASL_SSL listener: TLS with a certificate for
	// 127.0.0.1 signed by the CA in CAFile (PEM), and the same SASL users.
	TLSAddr string
	CAFile  string

	dir       string
	classpath string
	cmd       *exec.Cmd
	exited    chan struct{}
	log       *os.File
}

// CacheDir is where scripts/setup puts the broker's jars.
func CacheDir() string {
	base := os.Getenv("XDG_CACHE_HOME")
	if base == "" {
		home, _ := os.UserHomeDir()
		base = filepath.Join(home, ".cache")
	}
	return filepath.Join(base, "trunkscope", "kafka", Version)
}

var verified struct {
	sync.Once
	classpath string
	err       error
}

// classpath checks the cached jars against the SHA-256 list scripts/setup
// wrote and returns them as a Java class path.
func classpath() (string, error) {
	verified.Do(func() {
		dir := CacheDir()
		howTo := fmt.Sprintf("run ./scripts/setup --servers (fetches Apache Kafka %s from Maven Central into %s)", Version, dir)
		if _, err := os.Stat(filepath.Join(dir, ".complete")); err != nil {
			verified.err = fmt.Errorf("kafkatest: Apache Kafka %s not installed: %s", Version, howTo)
			return
		}
		if _, err := exec.LookPath("java"); err != nil {
			verified.err = fmt.Errorf("kafkatest: java (17 or later) not found: %s", howTo)
			return
		}
		f, err := os.Open(filepath.Join(dir, "sha256sums"))
		if err != nil {
			verified.err = fmt.Errorf("kafkatest: %v: %s", err, howTo)
			return
		}
		defer f.Close()
		var jars []string
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			sum, name, ok := strings.Cut(sc.Text(), "  ")
			if !ok {
				continue
			}
			path := filepath.Join(dir, "libs", filepath.Base(name))
			got, err := fileSHA256(path)
			if err != nil || got != sum {
				verified.err = fmt.Errorf("kafkatest: %s is missing or damaged (sha256 %s, want %s): remove %s and %s", path, got, sum, dir, howTo)
				return
			}
			jars = append(jars, path)
		}
		if len(jars) == 0 {
			verified.err = fmt.Errorf("kafkatest: no jars listed in %s/sha256sums: %s", dir, howTo)
			return
		}
		verified.classpath = strings.Join(jars, string(os.PathListSeparator))
	})
	return verified.classpath, verified.err
}

func fileSHA256(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// Start formats a KRaft single-node storage in dir and starts the broker
// on free loopback ports; it returns once the broker answers metadata
// requests.
func Start(dir string) (*Broker, error) {
	cp, err := classpath()
	if err != nil {
		return nil, err
	}
	ports, err := freePorts(4)
	if err != nil {
		return nil, err
	}
	b := &Broker{
		Addr:      fmt.Sprintf("127.0.0.1:%d", ports[0]),
		SASLAddr:  fmt.Sprintf("127.0.0.1:%d", ports[1]),
		TLSAddr:   fmt.Sprintf("127.0.0.1:%d", ports[3]),
		CAFile:    filepath.Join(dir, "ca.pem"),
		dir:       dir,
		classpath: cp,
	}
	if err := writeCerts(dir); err != nil {
		return nil, err
	}
	props := fmt.Sprintf(`process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:%[3]d
listeners=PLAINTEXT://%[1]s,SASL_PLAINTEXT://%[2]s,CONTROLLER://127.0.0.1:%[3]d,SASL_SSL://%[7]s
advertised.listeners=PLAINTEXT://%[1]s,SASL_PLAINTEXT://%[2]s,SASL_SSL://%[7]s
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,SASL_PLAINTEXT:SASL_PLAINTEXT,CONTROLLER:PLAINTEXT,SASL_SSL:SASL_SSL
sasl.enabled.mechanisms=PLAIN,SCRAM-SHA-256,SCRAM-SHA-512
listener.name.sasl_plaintext.plain.sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required user_%[5]s="%[6]s";
listener.name.sasl_plaintext.scram-sha-256.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required;
listener.name.sasl_plaintext.scram-sha-512.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required;
listener.name.sasl_ssl.plain.sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required user_%[5]s="%[6]s";
listener.name.sasl_ssl.scram-sha-256.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required;
listener.name.sasl_ssl.scram-sha-512.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required;
ssl.keystore.type=PEM
ssl.keystore.location=%[4]s/server.pem
log.dirs=%[4]s/data
num.partitions=1
auto.create.topics.enable=false
offsets.topic.replication.factor=1
offsets.topic.num.partitions=4
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
group.initial.rebalance.delay.ms=0
`, b.Addr, b.SASLAddr, ports[2], dir, PlainUser, PlainPassword, b.TLSAddr)
	if err := os.WriteFile(filepath.Join(dir, "server.properties"), []byte(props), 0o644); err != nil {
		return nil, err
	}
	format := exec.Command("java", "-cp", cp, "kafka.tools.StorageTool", "format",
		"-t", clusterID(), "-c", filepath.Join(dir, "server.properties"),
		"--add-scram", fmt.Sprintf("SCRAM-SHA-256=[name=%s,password=%s]", ScramUser, ScramPassword),
		"--add-scram", fmt.Sprintf("SCRAM-SHA-512=[name=%s,password=%s]", ScramUser, ScramPassword))
	if out, err := format.CombinedOutput(); err != nil { // about 1.5 s of JVM
		return nil, fmt.Errorf("kafkatest: formatting KRaft storage in %s: %v\n%s", dir, err, out)
	}
	if err := b.start(); err != nil {
		return nil, err
	}
	return b, nil
}

// clusterID is a random KRaft cluster ID (a UUID, URL-safe base64). One
// starting with '-' would read as an option to the storage tool.
func clusterID() string {
	for {
		var u [16]byte
		rand.Read(u[:])
		if id := base64.RawURLEncoding.EncodeToString(u[:]); id[0] != '-' {
			return id
		}
	}
}

func (b *Broker) start() error {
	log, err := os.OpenFile(filepath.Join(b.dir, "broker.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	cmd := exec.Command("java", "-Xms128m", "-Xmx768m", "-Djava.awt.headless=true",
		"-cp", b.classpath, "kafka.Kafka", filepath.Join(b.dir, "server.properties"))
	cmd.Stdout, cmd.Stderr = log, log
	// The broker dies with the test process, even one killed by a timeout.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		log.Close()
		return fmt.Errorf("kafkatest: starting the broker: %w", err)
	}
	b.cmd, b.log, b.exited = cmd, log, make(chan struct{})
	go func() {
		cmd.Wait()
		close(b.exited)
	}()
	return b.wait(90 * time.Second)
}

// wait returns when the broker can create a topic: it answers, and the
// controller has unfenced it (a restarted broker answers metadata requests
// a while before it may lead partitions).
func (b *Broker) wait(limit time.Duration) error {
	deadline := time.Now().Add(limit)
	c := &kafka.Client{Addr: kafka.TCP(b.Addr), Timeout: 2 * time.Second}
	for {
		select {
		case <-b.exited:
			return fmt.Errorf("kafkatest: broker exited while starting (%s):\n%s", b.cmd.ProcessState, b.logTail())
		default:
		}
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		resp, err := c.CreateTopics(ctx, &kafka.CreateTopicsRequest{Topics: []kafka.TopicConfig{
			{Topic: "kafkatest.ready", NumPartitions: 1, ReplicationFactor: 1}}})
		cancel()
		if err == nil {
			err = resp.Errors["kafkatest.ready"]
			if err == nil || errors.Is(err, kafka.TopicAlreadyExists) {
				return nil
			}
		}
		if time.Now().After(deadline) {
			b.Kill()
			return fmt.Errorf("kafkatest: broker on %s not ready after %s: %v\n%s", b.Addr, limit, err, b.logTail())
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func (b *Broker) logTail() string {
	out, _ := os.ReadFile(filepath.Join(b.dir, "broker.log"))
	if len(out) > 3000 {
		out = out[len(out)-3000:]
	}
	return string(out)
}

// Stop shuts the broker down cleanly (SIGTERM), killing it after 30 s.
func (b *Broker) Stop() {
	if b.cmd == nil {
		return
	}
	b.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-b.exited:
	case <-time.After(30 * time.Second):
		b.cmd.Process.Kill()
		<-b.exited
	}
	b.log.Close()
	b.cmd = nil
}

// Kill stops the broker with SIGKILL: a crash.
func (b *Broker) Kill() {
	if b.cmd == nil {
		return
	}
	b.cmd.Process.Kill()
	<-b.exited
	b.log.Close()
	b.cmd = nil
}

// Restart stops the broker and starts it again on the same directory and
// ports: topics, records and committed offsets must survive.
func (b *Broker) Restart() error {
	b.Stop()
	var err error
	// The ports were just released; another process taking one in between
	// is possible but rare on a test machine. Retry briefly on bind errors.
	for i := 0; i < 3; i++ {
		if err = b.start(); err == nil {
			return nil
		}
		time.Sleep(time.Second)
	}
	return err
}

// New starts a broker of the test's own, stopped when the test ends.
func New(t testing.TB) *Broker {
	t.Helper()
	b, err := Start(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(b.Stop)
	return b
}

var shared struct {
	sync.Mutex
	b   *Broker
	dir string
	err error
}

// Shared returns the test process's broker, starting it on first use.
// Tests share it, so each uses topic and group names of its own. The
// package's TestMain must call StopShared after m.Run.
func Shared(t testing.TB) *Broker {
	t.Helper()
	shared.Lock()
	defer shared.Unlock()
	if shared.b == nil && shared.err == nil {
		shared.dir, shared.err = os.MkdirTemp("", "trunkscope-kafka-")
		if shared.err == nil {
			shared.b, shared.err = Start(shared.dir)
		}
	}
	if shared.err != nil {
		t.Fatal(shared.err)
	}
	if shared.b.cmd == nil {
		t.Fatal("kafkatest: the shared broker was stopped by an earlier test and not restarted")
	}
	return shared.b
}

// StopShared stops the shared broker, if one was started, and removes its
// directory.
func StopShared() {
	shared.Lock()
	defer shared.Unlock()
	if shared.b != nil {
		shared.b.Stop()
	}
	if shared.dir != "" {
		if os.Getenv("KAFKATEST_KEEP") == "" {
			os.RemoveAll(shared.dir)
		}
	}
}

func freePorts(n int) ([]int, error) {
	var ports []int
	var ls []net.Listener
	defer func() {
		for _, l := range ls {
			l.Close()
		}
	}()
	for i := 0; i < n; i++ {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, errors.Join(fmt.Errorf("kafkatest: no free port"), err)
		}
		ls = append(ls, l)
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}
