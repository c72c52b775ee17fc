package hep

import (
	"bytes"
	"fmt"
	"github.com/trunkscope/trunkscope/internal/testports"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/trunkscope/trunkscope/event"
)

// Interop with real senders: Debian's Kamailio relays one SIPp call and
// mirrors it with siptrace over HEP3 to a Server.
const (
	kamailioBin = "/usr/sbin/kamailio"
	sippBin     = "/usr/bin/sipp"
	setupHint   = "run ./scripts/setup --servers"
)

// kamailioCfg is the smallest proxy that traces a call: every request is
// relayed to the SIPp UAS, and sip_trace() with the trace flag set traces
// the request's whole transaction (siptrace README, sip_trace: "transaction
// tracking when trace_flag is set"), so the replies, the proxy's own 100
// and the relayed copies are mirrored too. The ACK to the 200 is no
// transaction of its own: it is traced as received, its relayed copy is
// not. SIPp's default UAC sends ACK and BYE straight to the proxy, without
// Route headers, so no record-routing is needed. auth_key and the second
// sip_trace() argument exercise chunks 0x0e and 0x11.
const kamailioCfg = `#!KAMAILIO
debug=2
log_stderror=yes
memdbg=5
memlog=5
children=1
auto_aliases=no
disable_tcp=yes
listen=udp:127.0.0.1:{{kam}}
mpath="{{mpath}}"

loadmodule "pv.so"
loadmodule "sl.so"
loadmodule "tm.so"
loadmodule "rr.so"
loadmodule "maxfwd.so"
loadmodule "textops.so"
loadmodule "siputils.so"
loadmodule "siptrace.so"

modparam("siptrace", "duplicate_uri", "sip:127.0.0.1:{{hep}}")
modparam("siptrace", "hep_mode_on", 1)
modparam("siptrace", "hep_version", {{version}})
modparam("siptrace", "hep_capture_id", 4242)
modparam("siptrace", "trace_to_database", 0)
modparam("siptrace", "trace_on", 1)
modparam("siptrace", "trace_flag", 22)
modparam("siptrace", "auth_key", "{{key}}")

request_route {
	if (!mf_process_maxfwd_header("10")) {
		sl_send_reply("483", "Too Many Hops");
		exit;
	}
	setflag(22);
	sip_trace("sip:127.0.0.1:{{hep}}", "corr-$ci");
	$du = "sip:127.0.0.1:{{uas}}";
	if (!t_relay()) {
		sl_reply_error();
	}
	exit;
}
`

// TestKamailioSiptrace runs one call through Kamailio with siptrace in HEP3
// mode and in HEP2 mode: HEP2 from a real sender checks what the v2 decoder
// assumes (the 12-byte time header, little-endian time fields).
func TestKamailioSiptrace(t *testing.T) {
	for _, bin := range []string{kamailioBin, sippBin} {
		if _, err := os.Stat(bin); err != nil {
			t.Fatalf("%s: %v: %s", bin, err, setupHint)
		}
	}
	mpath := kamailioModules(t)
	t.Run("hep3", func(t *testing.T) { kamailioCall(t, mpath, 3) })
	t.Run("hep2", func(t *testing.T) { kamailioCall(t, mpath, 2) })
}

func kamailioCall(t *testing.T, mpath string, version int) {
	// An auth key is a HEP3 chunk; siptrace sends none in v2.
	key := "kamailio-key"
	var opts []Opt
	if version == 3 {
		opts = append(opts, AuthKey(key))
	}
	begin := time.Now().UnixMicro()
	rec := &recorder{}
	s := serve(t, rec.handle, opts...)

	dir := t.TempDir()
	kam, uas, uac := freeUDPPort(t), freeUDPPort(t), freeUDPPort(t)
	cfg := strings.NewReplacer("{{kam}}", fmt.Sprint(kam), "{{uas}}", fmt.Sprint(uas),
		"{{hep}}", fmt.Sprint(s.UDPAddr().Port()), "{{mpath}}", mpath, "{{key}}", key,
		"{{version}}", fmt.Sprint(version)).Replace(kamailioCfg)
	cfgFile := filepath.Join(dir, "kamailio.cfg")
	if err := os.WriteFile(cfgFile, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}

	// Kamailio in the foreground (-DD: the main process does not
	// daemonise; its children exit with it), logging to stderr (-E), all
	// its files in the temporary directory.
	kp := start(t, dir, "kamailio", kamailioBin, "-f", cfgFile, "-DD", "-E", "-P", filepath.Join(dir, "kamailio.pid"),
		"-w", dir, "-Y", dir, "-m", "32", "-M", "4")
	waitBound(t, kam, kp)

	// -cp and -mp: SIPp binds a control port (default 8888) and four media
	// ports from -mp (default 6000); two instances, or another test's,
	// would collide on the defaults.
	sippArgs := func(port int) []string {
		return []string{"-i", "127.0.0.1", "-p", fmt.Sprint(port), "-m", "1", "-timeout", "30s", "-nostdin",
			"-cp", fmt.Sprint(freeUDPPort(t)), "-mp", fmt.Sprint(testports.Range(t, 4))}
	}
	uasp := start(t, dir, "sipp-uas", sippBin, append([]string{"-sn", "uas"}, sippArgs(uas)...)...)
	waitBound(t, uas, uasp)
	uacp := start(t, dir, "sipp-uac", sippBin, append([]string{"-sn", "uac", fmt.Sprintf("127.0.0.1:%d", kam),
		"-s", "1000", "-r", "1", "-l", "1"}, sippArgs(uac)...)...)

	// SIPp's own -timeout (30 s) ends a stuck call first; this bound is
	// only a backstop. The UAS is not waited for: its default scenario
	// lingers 4 s after the call to absorb retransmissions, and the
	// cleanup stops it.
	if err := uacp.wait(t, 40*time.Second); err != nil {
		t.Fatalf("%s: %v", uacp.name, err)
	}

	// What a one-call trace must contain: the call's requests and the
	// responses to them, each at least once (a proxy's trace holds the
	// copy it received and the copy it relayed).
	want := []string{"INVITE", "100 INVITE", "180 INVITE", "200 INVITE", "ACK", "BYE", "200 BYE"}
	var (
		pkts    []*Packet
		seen    map[string]int
		callIDs map[string]bool
	)
	check := func() bool {
		rec.mu.Lock()
		pkts = append(pkts[:0], rec.pkts...)
		rec.mu.Unlock()
		seen, callIDs = map[string]int{}, map[string]bool{}
		for _, p := range pkts {
			var ev event.SIP
			if err := ToSIP(p, nil, &ev); err != nil {
				continue
			}
			seen[describe(&ev)]++
			callIDs[string(ev.CallID)] = true
		}
		for _, w := range want {
			if seen[w] == 0 {
				return false
			}
		}
		return true
	}
	deadline := time.Now().Add(waitFor)
	for !check() && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	for _, p := range pkts {
		var ev event.SIP
		err := ToSIP(p, nil, &ev)
		t.Logf("HEP v%d type %d capture %d proto %d %v -> %v corr %q: %s %v",
			p.Version, p.ProtoType, p.CaptureID, p.IPProto, p.Src, p.Dst, p.CorrelationID, describe(&ev), err)
	}
	for _, w := range want {
		if seen[w] == 0 {
			t.Errorf("no %s over HEP; got %v", w, seen)
		}
	}
	if len(callIDs) != 1 {
		t.Errorf("Call-IDs %v, want one", callIDs)
	}
	var id string
	for c := range callIDs {
		id = c
	}
	end := time.Now().UnixMicro()
	// Kamailio 5.6 puts sip_trace()'s correlation ID on the message the
	// call traced, the received request, but not on the messages traced
	// for its transaction (the relayed request, the replies).
	corr := 0
	for _, p := range pkts {
		ok := p.Version == uint8(version) && p.CaptureID == 4242 && p.ProtoType == ProtoSIP && p.IPProto == 17 &&
			p.Src.Addr().IsLoopback() && p.Dst.Addr().IsLoopback() && p.TimeUS >= begin && p.TimeUS <= end
		if version == 3 {
			ok = ok && string(p.AuthKey) == key && (p.CorrelationID == nil || string(p.CorrelationID) == "corr-"+id)
		}
		if !ok {
			t.Errorf("packet %s", show(p))
		}
		if p.CorrelationID != nil {
			corr++
		}
	}
	if version == 3 && corr == 0 {
		t.Error("no packet with the correlation ID")
	}
	st := s.Stats()
	if n := st.Received.Load() - st.Accepted.Load(); n != 0 {
		t.Errorf("%d packets rejected: %v", n, st.Counters())
	}
}

// describe names a message "METHOD" or "STATUS METHOD".
func describe(ev *event.SIP) string {
	if ev.Status != 0 {
		return fmt.Sprintf("%d %s", ev.Status, ev.Method)
	}
	return string(ev.Method)
}

// kamailioModules finds the module directory of the installed Kamailio
// (Debian puts it under the multiarch triplet).
func kamailioModules(t *testing.T) string {
	t.Helper()
	matches, _ := filepath.Glob("/usr/lib/*/kamailio/modules/siptrace.so")
	more, _ := filepath.Glob("/usr/lib*/kamailio/modules/siptrace.so")
	for _, m := range append(matches, more...) {
		return filepath.Dir(m)
	}
	t.Fatalf("no Kamailio siptrace module under /usr/lib: %s", setupHint)
	return ""
}

// freeUDPPort returns a loopback port free for a peer to bind.
func freeUDPPort(t *testing.T) int { return testports.UDP(t, 1)[0] }

// waitBound waits until p listens on the loopback UDP port.
func waitBound(t *testing.T, port int, p *proc) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		select {
		case <-p.exited:
			t.Fatalf("%s exited before binding 127.0.0.1:%d: %v", p.name, port, p.err)
		default:
		}
		c, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: port})
		if err != nil {
			return // taken: it is up
		}
		c.Close()
		if time.Now().After(deadline) {
			t.Fatalf("%s did not bind 127.0.0.1:%d", p.name, port)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// proc is a started program: err is its exit status once exited is closed.
type proc struct {
	name   string
	exited chan struct{}
	err    error
}

// wait waits for the program to exit, failing the test after d.
func (p *proc) wait(t *testing.T, d time.Duration) error {
	t.Helper()
	select {
	case <-p.exited:
		return p.err
	case <-time.After(d):
		t.Fatalf("%s did not finish within %v", p.name, d)
		return nil
	}
}

// start runs a program in its own process group, output to dir/name.log.
// Cleanup stops the group: TERM, then KILL after a grace period. The log is
// printed if the test failed.
func start(t *testing.T, dir, name, bin string, args ...string) *proc {
	t.Helper()
	logFile := filepath.Join(dir, name+".log")
	out, err := os.Create(logFile)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, args...)
	cmd.Dir = dir
	cmd.Stdout, cmd.Stderr = out, out
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		out.Close()
		t.Fatalf("%s: %v: %s", name, err, setupHint)
	}
	p := &proc{name: name, exited: make(chan struct{})}
	exited := p.exited
	go func() {
		p.err = cmd.Wait()
		close(exited)
	}()
	t.Cleanup(func() {
		pgid := cmd.Process.Pid
		syscall.Kill(-pgid, syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(3 * time.Second):
			syscall.Kill(-pgid, syscall.SIGKILL)
			<-exited
		}
		// Children that outlived the leader share its group.
		syscall.Kill(-pgid, syscall.SIGKILL)
		out.Close()
		if t.Failed() {
			b, _ := os.ReadFile(logFile)
			if len(b) > 8000 {
				b = b[len(b)-8000:]
			}
			t.Logf("%s log (tail):\n%s", name, bytes.TrimSpace(b))
		}
	})
	return p
}
