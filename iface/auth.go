package iface

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"time"

	"govmobile/gm"
	"govmobile/models"
	"govmobile/platformkey"
	"govmobile/signedreq"
)

// AuthMode is how a provider knows that a call comes from the platform
// (9.4.4).
type AuthMode string

// The modes.
const (
	// Signature: every call is signed with the platform key in the
	// signed-request format of SPEC §6; the provider verifies it with the
	// platform's published public keys.
	Signature AuthMode = "SIGNATURE"
	// Whitelist: the provider admits the platform's egress addresses; the
	// platform calls only addresses on its own whitelist of providers.
	Whitelist AuthMode = "WHITELIST"
)

// DefaultAuthKeyParam is the parameter that carries a provider's
// authentication key when the registrant names none (figure 4's key=…).
const DefaultAuthKeyParam = "key"

// Options are what the service needs besides the database and the client.
type Options struct {
	// Keys seals providers' authentication keys.
	Keys *gm.Keyring
	// PlatformKeys sign calls in Signature mode.
	PlatformKeys *platformkey.Ring
	// Whitelist is the platform's list of providers that admit it by
	// address: host names ("api.example.gov.cn", or "*.example.gov.cn" for
	// its subdomains) and IP addresses or CIDRs.
	Whitelist []string
}

// onWhitelist says whether an address's host is on the whitelist.
func (s *Service) onWhitelist(address string) bool {
	u, err := url.Parse(address)
	if err != nil {
		return false
	}
	host := strings.ToLower(strings.TrimSuffix(u.Hostname(), "."))
	ip, ipErr := netip.ParseAddr(host)
	for _, w := range s.opts.Whitelist {
		w = strings.ToLower(strings.TrimSpace(w))
		switch {
		case w == "":
		case ipErr == nil && strings.Contains(w, "/"):
			if p, err := netip.ParsePrefix(w); err == nil && p.Contains(ip.Unmap()) {
				return true
			}
		case strings.HasPrefix(w, "*."):
			if ipErr != nil && strings.HasSuffix(host, w[1:]) {
				return true
			}
		case host == w:
			return true
		}
	}
	return false
}

// errNotWhitelisted is the answer for a whitelist-mode interface whose
// address the platform does not list.
func errNotWhitelisted() error {
	return models.InvalidField("address", "白名单鉴权的接口，地址须在平台的接口白名单中；请改用签名鉴权，或联系平台运维添加。")
}

// sealAuthKey seals a provider's key for storage.
func (s *Service) sealAuthKey(key string) (string, error) {
	if key == "" {
		return "", nil
	}
	if s.opts.Keys == nil {
		return "", fmt.Errorf("iface: no keyring to seal authentication keys")
	}
	return s.opts.Keys.SealString(key, "interface-auth-key")
}

func (s *Service) openAuthKey(sealed string) (string, error) {
	if sealed == "" {
		return "", nil
	}
	return s.opts.Keys.OpenString(sealed, "interface-auth-key")
}

// call is a request ready to send, and how it is shown to administrators
// (the provider's key masked).
type call struct {
	req   *http.Request
	shown TestRequest
	key   string // the provider's key sent, "" for none
}

// maskedKey is how an authentication key appears in what is shown.
const maskedKey = "******"

// prepare builds the request for an interface with the given parameter
// values: the provider's key added, signed in Signature mode; refused in
// Whitelist mode for an address off the whitelist.
func (s *Service) prepare(ctx context.Context, x *models.SourceInterface, values map[string]string) (*call, error) {
	if AuthMode(x.AuthMode) == Whitelist && !s.onWhitelist(x.Address) {
		return nil, errNotWhitelisted()
	}
	key, err := s.openAuthKey(x.AuthKey)
	if err != nil {
		return nil, err
	}
	send, show := values, values
	if key != "" {
		send, show = make(map[string]string, len(values)+1), make(map[string]string, len(values)+1)
		for k, v := range values {
			send[k], show[k] = v, v
		}
		send[x.AuthKeyParam], show[x.AuthKeyParam] = key, maskedKey
	}
	c := &call{key: key}
	var body []byte
	if x.Method == http.MethodGet {
		u, err := url.Parse(x.Address)
		if err != nil {
			return nil, models.InvalidField("address", "接口地址格式不正确。")
		}
		q, qs := u.Query(), u.Query()
		for k, v := range send {
			q.Set(k, v)
		}
		for k, v := range show {
			qs.Set(k, v)
		}
		u.RawQuery = q.Encode()
		c.req, err = http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
		if err != nil {
			return nil, models.InvalidField("address", "接口地址格式不正确。")
		}
		u.RawQuery = qs.Encode()
		c.shown = TestRequest{Method: http.MethodGet, URL: u.String()}
	} else {
		body = marshal(send)
		c.req, err = http.NewRequestWithContext(ctx, http.MethodPost, x.Address, strings.NewReader(string(body)))
		if err != nil {
			return nil, models.InvalidField("address", "接口地址格式不正确。")
		}
		c.req.Header.Set("Content-Type", "application/json; charset=utf-8")
		c.shown = TestRequest{Method: http.MethodPost, URL: x.Address, Body: string(marshal(show))}
	}
	// Only an approved interface's calls are signed: its address has been
	// reviewed. A registrant testing a draft cannot have the platform sign
	// a request to an address of their choosing.
	if AuthMode(x.AuthMode) == Signature && Status(x.Status) == Approved {
		k, err := s.opts.PlatformKeys.Current(ctx)
		if err != nil {
			return nil, models.Errorf(models.ECodeUnavailable, "平台签名密钥暂不可用，请稍后再试。")
		}
		var appCode string
		if err := s.db.WithContext(ctx).Model(&models.App{}).Where("id = ?", x.AppID).Pluck("code", &appCode).Error; err != nil {
			return nil, err
		}
		if err := signedreq.Sign(c.req, body, appCode, k.ID, time.Now(), k.Sign); err != nil {
			return nil, err
		}
		c.shown.Signed = true
	}
	return c, nil
}

func marshal(v map[string]string) []byte {
	b, _ := json.Marshal(v) // a map of strings always marshals; keys sorted
	return b
}
