package active

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/md5"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"fmt"
	"math/big"
	"net"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"

	"github.com/trunkscope/trunkscope/probe/sdp"
)

// uasConfig shapes the test UAS: a real sipgo server on loopback.
type uasConfig struct {
	// Challenge is 401 or 407 to demand digest credentials (User, Pass)
	// before answering; QOP adds qop="auth" to the challenge.
	Challenge  int
	QOP        bool
	User, Pass string
	// RingAfter and AnswerAfter delay the 180 and then the 200.
	RingAfter, AnswerAfter time.Duration
	// Drop and Delay impair the echoed RTP by packet index (0-based).
	Drop  func(i int) bool
	Delay func(i int) time.Duration
	// TLS serves over TLS with this configuration.
	TLS *tls.Config
}

type uas struct {
	cfg              uasConfig
	addr             netip.AddrPort
	invites, authOK  atomic.Int32
	authBad, options atomic.Int32
	cancel           context.CancelFunc
	done             chan struct{}
	mu               sync.Mutex
	nonces           map[string]bool
	echoes           []*net.UDPConn
	lastOptions      *sip.Request // the last OPTIONS received
}

const testRealm = "trunkscope-test"

// startUAS serves SIP on a free loopback port until stopped (or the test
// ends).
func startUAS(t *testing.T, network string, cfg uasConfig) *uas {
	t.Helper()
	port := freePort(t)
	u := &uas{cfg: cfg, addr: netip.AddrPortFrom(netip.MustParseAddr("127.0.0.1"), uint16(port)), nonces: map[string]bool{}, done: make(chan struct{})}
	ua, err := sipgo.NewUA(sipgo.WithUserAgent("test-uas"),
		sipgo.WithUserAgentTransportLayerOptions(sip.WithTransportLayerLogger(discard)),
		sipgo.WithUserAgentTransactionLayerOptions(sip.WithTransactionLayerLogger(discard)))
	if err != nil {
		t.Fatal(err)
	}
	srv, err := sipgo.NewServer(ua, sipgo.WithServerLogger(discard))
	if err != nil {
		t.Fatal(err)
	}
	srv.OnInvite(u.invite)
	srv.OnAck(func(*sip.Request, sip.ServerTransaction) {})
	srv.OnBye(func(r *sip.Request, tx sip.ServerTransaction) {
		tx.Respond(sip.NewResponseFromRequest(r, 200, "OK", nil))
	})
	srv.OnOptions(func(r *sip.Request, tx sip.ServerTransaction) {
		u.options.Add(1)
		u.mu.Lock()
		u.lastOptions = r.Clone()
		u.mu.Unlock()
		tx.Respond(sip.NewResponseFromRequest(r, 200, "OK", nil))
	})
	ctx, cancel := context.WithCancel(context.Background())
	u.cancel = cancel
	ready := make(chan struct{})
	go func() {
		defer close(u.done)
		defer ua.Close()
		ctx := context.WithValue(ctx, sipgo.ListenReadyCtxKey, sipgo.ListenReadyCtxValue(ready))
		if cfg.TLS != nil {
			srv.ListenAndServeTLS(ctx, "tls", u.addr.String(), cfg.TLS)
		} else {
			srv.ListenAndServe(ctx, network, u.addr.String())
		}
	}()
	select {
	case <-ready:
	case <-time.After(5 * time.Second):
		t.Fatal("UAS did not start")
	}
	t.Cleanup(u.stop)
	return u
}

func (u *uas) uri() string { return "sip:" + u.addr.String() }

// stop closes the listener: the UAS is gone (a failed trunk).
func (u *uas) stop() {
	u.cancel()
	<-u.done
	u.mu.Lock()
	for _, c := range u.echoes {
		c.Close()
	}
	u.echoes = nil
	u.mu.Unlock()
}

func (u *uas) invite(r *sip.Request, tx sip.ServerTransaction) {
	u.invites.Add(1)
	if u.cfg.Challenge != 0 && !u.authorized(r, tx) {
		return
	}
	toTag := sip.GenerateTagN(10)
	resp := func(code int, reason string, body []byte) *sip.Response {
		res := sip.NewResponseFromRequest(r, code, reason, body)
		if to := res.To(); to != nil {
			to.Params.Remove("tag")
			to.Params.Add("tag", toTag)
		}
		return res
	}
	time.Sleep(u.cfg.RingAfter)
	tx.Respond(resp(180, "Ringing", nil))
	time.Sleep(u.cfg.AnswerAfter)
	var offer sdp.Session
	remote, _, err := answerMedia(r.Body(), &offer)
	if err != nil {
		tx.Respond(resp(488, "Not Acceptable Here", nil))
		return
	}
	echo, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		tx.Respond(resp(500, "No Media Port", nil))
		return
	}
	u.mu.Lock()
	u.echoes = append(u.echoes, echo)
	u.mu.Unlock()
	go u.echo(echo, remote)
	body := fmt.Appendf(nil, "v=0\r\no=uas 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio %d RTP/AVP %d\r\na=sendrecv\r\n",
		echo.LocalAddr().(*net.UDPAddr).Port, offer.Media[0].Formats[0])
	res := resp(200, "OK", body)
	res.AppendHeader(sip.NewHeader("Content-Type", "application/sdp"))
	res.AppendHeader(&sip.ContactHeader{Address: sip.Uri{Scheme: "sip", Host: "127.0.0.1", Port: int(u.addr.Port())}})
	tx.Respond(res)
}

// echo sends every RTP packet back, impaired by the configured pattern.
func (u *uas) echo(c *net.UDPConn, to netip.AddrPort) {
	buf := make([]byte, 2048)
	dst := net.UDPAddrFromAddrPort(to)
	for i := 0; ; i++ {
		n, err := c.Read(buf)
		if err != nil {
			return
		}
		if u.cfg.Drop != nil && u.cfg.Drop(i) {
			continue
		}
		pkt := append([]byte(nil), buf[:n]...)
		if u.cfg.Delay != nil {
			if d := u.cfg.Delay(i); d > 0 {
				time.AfterFunc(d, func() { c.WriteToUDP(pkt, dst) })
				continue
			}
		}
		c.WriteToUDP(pkt, dst)
	}
}

// authorized checks the request's digest credentials (RFC 2617 §3.2.2,
// MD5, with or without qop=auth), computed here from first principles
// rather than with the client's digest package; without valid ones it
// sends the challenge.
func (u *uas) authorized(r *sip.Request, tx sip.ServerTransaction) bool {
	hname, cname := "WWW-Authenticate", "Authorization"
	if u.cfg.Challenge == 407 {
		hname, cname = "Proxy-Authenticate", "Proxy-Authorization"
	}
	if h := r.GetHeader(cname); h != nil {
		p := digestParams(h.Value())
		u.mu.Lock()
		known := u.nonces[p["nonce"]]
		u.mu.Unlock()
		ha1 := md5hex(p["username"] + ":" + testRealm + ":" + u.cfg.Pass)
		ha2 := md5hex("INVITE:" + p["uri"])
		want := md5hex(ha1 + ":" + p["nonce"] + ":" + ha2)
		if p["qop"] == "auth" {
			want = md5hex(ha1 + ":" + p["nonce"] + ":" + p["nc"] + ":" + p["cnonce"] + ":auth:" + ha2)
		}
		if known && p["username"] == u.cfg.User && p["realm"] == testRealm && p["response"] == want {
			u.authOK.Add(1)
			return true
		}
		u.authBad.Add(1)
	}
	nonce := sip.GenerateTagN(16)
	u.mu.Lock()
	u.nonces[nonce] = true
	u.mu.Unlock()
	chal := fmt.Sprintf(`Digest realm="%s", nonce="%s", algorithm=MD5`, testRealm, nonce)
	if u.cfg.QOP {
		chal += `, qop="auth"`
	}
	reason := "Unauthorized"
	if u.cfg.Challenge == 407 {
		reason = "Proxy Authentication Required"
	}
	res := sip.NewResponseFromRequest(r, u.cfg.Challenge, reason, nil)
	res.AppendHeader(sip.NewHeader(hname, chal))
	tx.Respond(res)
	return false
}

func md5hex(s string) string {
	h := md5.Sum([]byte(s))
	return hex.EncodeToString(h[:])
}

// digestParams splits `Digest a="x", b=y` into a map.
func digestParams(v string) map[string]string {
	v = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(v), "Digest"))
	out := map[string]string{}
	for _, part := range strings.Split(v, ",") {
		k, val, ok := strings.Cut(strings.TrimSpace(part), "=")
		if ok {
			out[strings.ToLower(k)] = strings.Trim(val, `"`)
		}
	}
	return out
}

// testCert makes a self-signed certificate for 127.0.0.1 (its own CA).
func testCert(t *testing.T) (tls.Certificate, *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "trunkscope test sbc"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)},
		KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IsCA: true, BasicConstraintsValid: true}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: cert}, pool
}
