package active

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"

	"github.com/trunkscope/trunkscope/event"
)

// Target is one SIP peer of a trunk to ping or call through.
type Target struct {
	Trunk string
	// URI is the target as configured (sip:198.51.100.10:5060,
	// sips:sbc.example.net, sip:host;transport=tcp).
	URI string
	// Transport is udp, tcp or tls; empty: the URI's transport parameter,
	// tls for sips:, else udp.
	Transport string
	// From and To are the From and To URIs; From defaults to
	// sip:trunkscope@<local address>, To to the target URI.
	From, To  string
	UserAgent string
	// Source is the local address to send from (invalid: the kernel's
	// choice).
	Source netip.Addr
	// TLS verifies the peer's certificate: RootCAs (nil: the system pool),
	// Insecure to skip verification in labs.
	RootCAs  *x509.CertPool
	Insecure bool
}

// LoadCAs reads a PEM file of CA certificates for Target.RootCAs.
func LoadCAs(file string) (*x509.CertPool, error) {
	pem, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("active: CA file: %w", err)
	}
	p := x509.NewCertPool()
	if !p.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("active: CA file %s: no PEM certificate in it", file)
	}
	return p, nil
}

// peer is a target's sipgo user agent with its wire clock.
type peer struct {
	t         Target
	uri       sip.Uri
	transport string // UDP, TCP or TLS, as sipgo names them
	ua        *sipgo.UserAgent
	client    *sipgo.Client
	server    *sipgo.Server
	clock     *wireClock
	local     netip.AddrPort // UDP: the fixed local address requests go from
}

// discard is sipgo's logger: its messages can quote whole requests (with an
// Authorization header) and are not ours to emit.
var discard = slog.New(slog.DiscardHandler)

// newPeer builds a user agent for t. Every target has its own: its own
// TLS server name and source address, and its own socket, so one target's
// silence or garbage cannot be mistaken for another's.
//
// local, when valid, fixes the local address and port (test calls over
// UDP); the port must be free.
func newPeer(t Target, local netip.AddrPort) (*peer, error) {
	p := &peer{t: t, clock: newWireClock()}
	if err := sip.ParseUri(t.URI, &p.uri); err != nil || p.uri.Host == "" {
		return nil, fmt.Errorf("active: target %q is not a SIP URI", t.URI)
	}
	tr := strings.ToLower(t.Transport)
	if tr == "" {
		if v, ok := p.uri.UriParams.Get("transport"); ok {
			tr = strings.ToLower(v)
		} else if p.uri.Scheme == "sips" {
			tr = "tls"
		} else {
			tr = "udp"
		}
	}
	switch tr {
	case "udp", "tcp", "tls":
	default:
		return nil, fmt.Errorf("active: target %q: transport %q, want udp, tcp or tls", t.URI, tr)
	}
	p.transport = strings.ToUpper(tr)
	if p.uri.Port == 0 {
		p.uri.Port = sip.DefaultPort(tr)
	}
	tc := &tls.Config{ServerName: p.uri.Host, RootCAs: t.RootCAs, InsecureSkipVerify: t.Insecure, MinVersion: tls.VersionTLS12}
	if ip, err := netip.ParseAddr(p.uri.Host); err == nil {
		tc.ServerName = ip.String() // verified against the certificate's IP SANs
	}
	ua, err := sipgo.NewUA(
		sipgo.WithUserAgent(orDefault(t.UserAgent, "trunkscope")),
		sipgo.WithUserAgenTLSConfig(tc),
		sipgo.WithUserAgentTransportLayerOptions(sip.WithTransportLayerLogger(discard), sip.WithTransportLayerReadFilter(p.clock.filter)),
		sipgo.WithUserAgentTransactionLayerOptions(sip.WithTransactionLayerLogger(discard)),
	)
	if err != nil {
		return nil, fmt.Errorf("active: user agent: %w", err)
	}
	opts := []sipgo.ClientOption{sipgo.WithClientLogger(discard)}
	if local.IsValid() {
		// A fixed local address, so the Contact of a test call names where
		// in-dialog requests (a BYE from the far end) reach us. sipgo finds
		// its UDP socket again by this exact address.
		p.local = local
		opts = append(opts, sipgo.WithClientConnectionAddr(local.String()))
	} else if t.Source.IsValid() {
		opts = append(opts, sipgo.WithClientConnectionAddr(netip.AddrPortFrom(t.Source, 0).String()))
	}
	if p.client, err = sipgo.NewClient(ua, opts...); err != nil {
		ua.Close()
		return nil, fmt.Errorf("active: client: %w", err)
	}
	if p.server, err = sipgo.NewServer(ua, sipgo.WithServerLogger(discard)); err != nil {
		ua.Close()
		return nil, fmt.Errorf("active: server: %w", err)
	}
	p.ua = ua
	return p, nil
}

func (p *peer) close() error { return p.ua.Close() }

func orDefault(s, d string) string {
	if s == "" {
		return d
	}
	return s
}

// freeUDPPort asks the kernel for a free UDP port on src (a specific
// address: sipgo matches its sockets by the address string).
func freeUDPPort(src netip.Addr) (uint16, error) {
	c, err := net.ListenUDP("udp", net.UDPAddrFromAddrPort(netip.AddrPortFrom(src, 0)))
	if err != nil {
		return 0, fmt.Errorf("active: local UDP port on %s: %w", src, err)
	}
	defer c.Close()
	return uint16(c.LocalAddr().(*net.UDPAddr).Port), nil
}

// localIP returns the address this host sends from towards the target:
// the source when set, else the kernel's route choice (a UDP connect sends
// nothing).
func (p *peer) localIP(ctx context.Context) (netip.Addr, netip.Addr, error) {
	remote, err := resolve(ctx, p.uri.Host)
	if err != nil {
		return netip.Addr{}, netip.Addr{}, err
	}
	if p.t.Source.IsValid() {
		return p.t.Source, remote, nil
	}
	c, err := net.DialUDP("udp", nil, net.UDPAddrFromAddrPort(netip.AddrPortFrom(remote, uint16(p.uri.Port))))
	if err != nil {
		return netip.Addr{}, remote, fmt.Errorf("active: no route to %s: %w", remote, err)
	}
	defer c.Close()
	return c.LocalAddr().(*net.UDPAddr).AddrPort().Addr().Unmap(), remote, nil
}

// resolve returns the target host's first address (an IP literal as is).
func resolve(ctx context.Context, host string) (netip.Addr, error) {
	if ip, err := netip.ParseAddr(strings.Trim(host, "[]")); err == nil {
		return ip, nil
	}
	ips, err := net.DefaultResolver.LookupNetIP(ctx, "ip", host)
	if err != nil {
		return netip.Addr{}, err
	}
	for _, ip := range ips {
		if ip.Is4() || ip.Is4In6() {
			return ip.Unmap(), nil
		}
	}
	return ips[0], nil
}

// fromHeader builds the From header of a request.
func (p *peer) fromHeader(local netip.Addr) (*sip.FromHeader, error) {
	var u sip.Uri
	if p.t.From != "" {
		if err := sip.ParseUri(p.t.From, &u); err != nil {
			return nil, fmt.Errorf("active: from %q: %w", p.t.From, err)
		}
	} else {
		u = sip.Uri{Scheme: "sip", User: "trunkscope", Host: hostOf(local)}
	}
	h := &sip.FromHeader{Address: u, Params: sip.NewParams()}
	h.Params.Add("tag", sip.GenerateTagN(16))
	return h, nil
}

// toHeader builds the To header: the configured To, else the request URI.
func (p *peer) toHeader(ruri sip.Uri) (*sip.ToHeader, error) {
	u := sip.Uri{Scheme: ruri.Scheme, User: ruri.User, Host: ruri.Host, Port: ruri.Port}
	if p.t.To != "" {
		u = sip.Uri{}
		if err := sip.ParseUri(p.t.To, &u); err != nil {
			return nil, fmt.Errorf("active: to %q: %w", p.t.To, err)
		}
	}
	return &sip.ToHeader{Address: u, Params: sip.NewParams()}, nil
}

func hostOf(a netip.Addr) string {
	if !a.IsValid() || a.IsUnspecified() {
		return "invalid"
	}
	if a.Is6() {
		return "[" + a.String() + "]"
	}
	return a.String()
}

func (p *peer) eventTransport() event.Transport {
	switch p.transport {
	case "TCP":
		return event.TransportTCP
	case "TLS":
		return event.TransportTLS
	}
	return event.TransportUDP
}

// classify turns a send failure into a ping result and a message that
// says what to do. TLS failures name the certificate problem.
func classify(err error, t *Target) (event.PingResult, string) {
	var dnsErr *net.DNSError
	var certErr *tls.CertificateVerificationError
	var unknownCA x509.UnknownAuthorityError
	var hostErr x509.HostnameError
	var invalid x509.CertificateInvalidError
	var recErr tls.RecordHeaderError
	var alert tls.AlertError
	switch {
	case errors.As(err, &dnsErr):
		return event.PingUnresolvable, fmt.Sprintf("host %s does not resolve: %s", dnsErr.Name, dnsErr.Err)
	case errors.Is(err, syscall.ECONNREFUSED):
		return event.PingRefused, "connection refused"
	case errors.As(err, &unknownCA):
		return event.PingTLS, "TLS: the certificate is signed by an unknown authority (configure probe.ca_file, or --insecure in labs)"
	case errors.As(err, &hostErr):
		return event.PingTLS, "TLS: " + hostErr.Error()
	case errors.As(err, &invalid):
		return event.PingTLS, "TLS: certificate invalid: " + invalid.Error()
	case errors.As(err, &certErr):
		return event.PingTLS, "TLS: certificate verification failed: " + certErr.Error()
	case errors.As(err, &recErr), errors.As(err, &alert), strings.Contains(err.Error(), "TLS handshake"):
		return event.PingTLS, "TLS handshake failed: " + lastPart(err)
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, os.ErrDeadlineExceeded):
		return event.PingTimeout, "no connection by the deadline"
	case errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.EHOSTUNREACH), errors.Is(err, syscall.ENETUNREACH):
		return event.PingRefused, lastPart(err)
	}
	return event.PingError, lastPart(err)
}

// lastPart trims sipgo's wrapping ("client transcation failed to request
// connection: dial TCP error: ...") to the cause.
func lastPart(err error) string {
	s := err.Error()
	if i := strings.LastIndex(s, ": "); i >= 0 && i+2 < len(s) {
		return s[i+2:]
	}
	return s
}

// since returns d in microseconds, clamped to uint32 and at least 1 (a
// response did arrive).
func micros(d time.Duration) uint32 {
	us := d.Microseconds()
	switch {
	case us < 1:
		return 1
	case us > 1<<32-1:
		return 1<<32 - 1
	}
	return uint32(us)
}

func itoa(n int) string { return strconv.Itoa(n) }
