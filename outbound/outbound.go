// Package outbound is the one HTTP client the platform uses to call the
// outside world — source interfaces of apps (9.4), their connectivity tests
// and health checks (issue 6). It refuses what a server-side request must
// never reach (SSRF): an address outside the allowlist is refused before a
// connection is made, and the check runs on the address actually dialled,
// after DNS resolution, so a name that resolves to 127.0.0.1 or to the
// cloud metadata service is refused like the literal address. It also
// bounds time and response size, and never follows a redirect to another
// host.
package outbound

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"syscall"
	"time"
)

// Config says what the client may reach and how long it waits.
type Config struct {
	// Allow lists networks that may be reached besides the public
	// addresses (CIDRs, or single addresses): loopback, private,
	// link-local, multicast, unspecified and other special ranges are
	// refused unless listed here.
	Allow []netip.Prefix
	// Timeout bounds a whole request, response body included (default 10 s).
	Timeout time.Duration
	// MaxBody bounds a response body (default 1 MiB).
	MaxBody int64
	// HTTPSOnly refuses plain http:// addresses (production).
	HTTPSOnly bool
	// MaxRedirects bounds redirects, all to the same host (default 3).
	MaxRedirects int
}

// Errors a caller can tell apart; the messages are the client's Chinese.
var (
	ErrForbiddenAddress = errors.New("该地址不在允许访问的范围内")
	ErrScheme           = errors.New("接口地址必须以 https:// 开头")
	ErrTooLarge         = errors.New("接口返回的内容过大")
	ErrRedirect         = errors.New("接口重定向到了其他主机或次数过多")
)

// Client is the outbound HTTP client.
type Client struct {
	cfg  Config
	http *http.Client
}

// New returns a client for cfg.
func New(cfg Config) *Client {
	if cfg.Timeout <= 0 {
		cfg.Timeout = 10 * time.Second
	}
	if cfg.MaxBody <= 0 {
		cfg.MaxBody = 1 << 20
	}
	if cfg.MaxRedirects <= 0 {
		cfg.MaxRedirects = 3
	}
	c := &Client{cfg: cfg}
	dialer := &net.Dialer{Timeout: cfg.Timeout, Control: c.control}
	transport := &http.Transport{
		DialContext:           dialer.DialContext,
		Proxy:                 nil, // never through an environment proxy: the check is on the real peer
		TLSHandshakeTimeout:   cfg.Timeout,
		ResponseHeaderTimeout: cfg.Timeout,
		MaxIdleConnsPerHost:   4,
		IdleConnTimeout:       90 * time.Second,
	}
	c.http = &http.Client{Transport: transport, Timeout: cfg.Timeout, CheckRedirect: c.checkRedirect}
	return c
}

// control runs on every connection about to be made, with the resolved
// address: the last word on where the request goes.
func (c *Client) control(_, address string, _ syscall.RawConn) error {
	host, _, err := net.SplitHostPort(address)
	if err != nil {
		return ErrForbiddenAddress
	}
	addr, err := netip.ParseAddr(host)
	if err != nil || !c.allowed(addr.Unmap()) {
		return ErrForbiddenAddress
	}
	return nil
}

// allowed reports whether addr may be reached.
func (c *Client) allowed(addr netip.Addr) bool {
	for _, p := range c.cfg.Allow {
		if p.Contains(addr) {
			return true
		}
	}
	return public(addr)
}

// special are ranges never reached unless allowed by name: documentation,
// benchmarking, shared address space (CGNAT), and the like.
var special = []netip.Prefix{
	netip.MustParsePrefix("0.0.0.0/8"), netip.MustParsePrefix("100.64.0.0/10"),
	netip.MustParsePrefix("192.0.0.0/24"), netip.MustParsePrefix("192.0.2.0/24"),
	netip.MustParsePrefix("198.18.0.0/15"), netip.MustParsePrefix("198.51.100.0/24"),
	netip.MustParsePrefix("203.0.113.0/24"), netip.MustParsePrefix("240.0.0.0/4"),
	netip.MustParsePrefix("64:ff9b::/96"), netip.MustParsePrefix("2001:db8::/32"),
	netip.MustParsePrefix("fc00::/7"),
}

// public reports whether addr is an ordinary public unicast address.
func public(addr netip.Addr) bool {
	if !addr.IsValid() || addr.IsLoopback() || addr.IsPrivate() || addr.IsLinkLocalUnicast() || addr.IsLinkLocalMulticast() ||
		addr.IsInterfaceLocalMulticast() || addr.IsMulticast() || addr.IsUnspecified() {
		return false
	}
	for _, p := range special {
		if p.Contains(addr) {
			return false
		}
	}
	return true
}

// checkRedirect follows at most MaxRedirects redirects, all on the first
// request's host and scheme.
func (c *Client) checkRedirect(req *http.Request, via []*http.Request) error {
	if len(via) > c.cfg.MaxRedirects || !strings.EqualFold(req.URL.Host, via[0].URL.Host) || req.URL.Scheme != via[0].URL.Scheme {
		return ErrRedirect
	}
	return nil
}

// CheckURL refuses an address the client would never call: not http(s),
// http in production, credentials in it, or a literal address outside the
// allowlist. Names are checked again when dialled.
func (c *Client) CheckURL(raw string) error {
	req, err := http.NewRequest(http.MethodGet, raw, nil)
	if err != nil || req.URL.Host == "" || req.URL.User != nil {
		return fmt.Errorf("接口地址格式不正确")
	}
	switch req.URL.Scheme {
	case "https":
	case "http":
		if c.cfg.HTTPSOnly {
			return ErrScheme
		}
	default:
		return ErrScheme
	}
	if addr, err := netip.ParseAddr(strings.Trim(req.URL.Hostname(), "[]")); err == nil && !c.allowed(addr.Unmap()) {
		return ErrForbiddenAddress
	}
	return nil
}

// Response is what a call returned: the status, headers and at most
// MaxBody bytes of body, and how long it took.
type Response struct {
	Status  int
	Header  http.Header
	Body    []byte
	Elapsed time.Duration
}

// Do sends req (its URL checked first) and reads the response, refusing a
// body over MaxBody.
func (c *Client) Do(ctx context.Context, req *http.Request) (*Response, error) {
	if err := c.CheckURL(req.URL.String()); err != nil {
		return nil, err
	}
	start := time.Now()
	res, err := c.http.Do(req.WithContext(ctx))
	if err != nil {
		return nil, unwrap(err)
	}
	defer res.Body.Close()
	body, err := io.ReadAll(io.LimitReader(res.Body, c.cfg.MaxBody+1))
	if err != nil {
		return nil, unwrap(err)
	}
	if int64(len(body)) > c.cfg.MaxBody {
		return nil, ErrTooLarge
	}
	return &Response{Status: res.StatusCode, Header: res.Header, Body: body, Elapsed: time.Since(start)}, nil
}

// unwrap gives the client's own errors back as themselves, out of the
// url.Error and net.OpError they arrive in.
func unwrap(err error) error {
	for _, known := range []error{ErrForbiddenAddress, ErrRedirect} {
		if errors.Is(err, known) {
			return known
		}
	}
	return err
}
