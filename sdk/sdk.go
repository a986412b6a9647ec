// Package sdk is the platform's decrypt SDK for third-party apps (9.2.1 e),
// written against the wire formats of SPEC §6 only, so that it can be
// copied out of this repository and used by an app's server as it is. It
// depends on nothing but the standard library and emmansun/gmsm.
//
// An app's server uses it to:
//   - decrypt its SM4 data key, delivered SM2-encrypted to its public key
//     (DecryptDataKey);
//   - exchange a one-time ticket for the user's information: the request
//     signed with the app's SM2 key, the answer's platform signature
//     checked, the SM4-GCM envelope opened (Client.Exchange);
//   - or do those steps one by one (Sign, VerifyResponse, OpenEnvelope).
package sdk

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"crypto/cipher"

	"github.com/emmansun/gmsm/sm2"
	"github.com/emmansun/gmsm/sm3"
	"github.com/emmansun/gmsm/sm4"
	"github.com/emmansun/gmsm/smx509"
)

// ExchangePath is the platform's ticket exchange endpoint.
const ExchangePath = "/open/v1/user-info"

// MaxSkew is the clock difference the platform accepts, and this SDK
// accepts in the platform's answers.
const MaxSkew = 300 * time.Second

// ParsePrivateKey reads an SM2 private key: 64 hex digits, or a PKCS#8
// "PRIVATE KEY" PEM block.
func ParsePrivateKey(s string) (*sm2.PrivateKey, error) {
	s = strings.TrimSpace(s)
	if strings.HasPrefix(s, "-----BEGIN") {
		block, _ := pem.Decode([]byte(s))
		if block == nil {
			return nil, errors.New("sdk: not a PEM block")
		}
		k, err := smx509.ParsePKCS8PrivateKey(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("sdk: %w", err)
		}
		priv, ok := k.(*sm2.PrivateKey)
		if !ok {
			return nil, errors.New("sdk: not an SM2 private key")
		}
		return priv, nil
	}
	b, err := hex.DecodeString(s)
	if err != nil || len(b) != 32 {
		return nil, errors.New("sdk: want 64 hex digits or a PKCS#8 PEM block")
	}
	return sm2.NewPrivateKey(b)
}

// ParsePublicKey reads an SM2 public key: 130 hex digits (04‖X‖Y), or a
// PKIX "PUBLIC KEY" PEM block.
func ParsePublicKey(s string) (*ecdsa.PublicKey, error) {
	s = strings.TrimSpace(s)
	if strings.HasPrefix(s, "-----BEGIN") {
		block, _ := pem.Decode([]byte(s))
		if block == nil {
			return nil, errors.New("sdk: not a PEM block")
		}
		k, err := smx509.ParsePKIXPublicKey(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("sdk: %w", err)
		}
		pub, ok := k.(*ecdsa.PublicKey)
		if !ok {
			return nil, errors.New("sdk: not an SM2 public key")
		}
		return pub, nil
	}
	b, err := hex.DecodeString(s)
	if err != nil || len(b) != 65 || b[0] != 4 {
		return nil, errors.New("sdk: want 130 hex digits starting 04, or a PEM block")
	}
	return sm2.NewPublicKey(b)
}

// PublicKeyHex is a public key as 130 hex digits (04‖X‖Y), as the app
// centre registers it.
func PublicKeyHex(pub *ecdsa.PublicKey) string {
	b := make([]byte, 65)
	b[0] = 4
	pub.X.FillBytes(b[1:33])
	pub.Y.FillBytes(b[33:])
	return hex.EncodeToString(b)
}

// DecryptDataKey decrypts the app's SM4 data key from the hex the app
// centre gave (SM2, C1C3C2, C1 with the 04 prefix).
func DecryptDataKey(priv *sm2.PrivateKey, encryptedHex string) ([]byte, error) {
	ct, err := hex.DecodeString(strings.TrimSpace(encryptedHex))
	if err != nil {
		return nil, errors.New("sdk: the encrypted data key is not hex")
	}
	key, err := sm2.Decrypt(priv, ct)
	if err != nil {
		return nil, fmt.Errorf("sdk: decrypt the data key: %w", err)
	}
	if len(key) != 16 {
		return nil, errors.New("sdk: the data key is not 16 bytes")
	}
	return key, nil
}

// StringToSign is what a signature covers (SPEC §6):
// METHOD\nPATH\nTIMESTAMP\nNONCE\nhex(SM3(body)). The platform signs its
// answers with METHOD "RESPONSE".
func StringToSign(method, path string, timestampMs int64, nonce string, body []byte) []byte {
	h := sm3.Sum(body)
	return []byte(strings.ToUpper(method) + "\n" + path + "\n" + strconv.FormatInt(timestampMs, 10) + "\n" + nonce + "\n" + hex.EncodeToString(h[:]))
}

// Sign sets X-App-Id, X-Timestamp, X-Nonce and X-Signature on a request
// whose body is body.
func Sign(req *http.Request, body []byte, appID string, priv *sm2.PrivateKey, now time.Time) error {
	nb := make([]byte, 12)
	if _, err := rand.Read(nb); err != nil {
		return err
	}
	ts, nonce := now.UnixMilli(), hex.EncodeToString(nb)
	sig, err := priv.Sign(rand.Reader, StringToSign(req.Method, req.URL.RequestURI(), ts, nonce, body), sm2.DefaultSM2SignerOpts)
	if err != nil {
		return err
	}
	req.Header.Set("X-App-Id", appID)
	req.Header.Set("X-Timestamp", strconv.FormatInt(ts, 10))
	req.Header.Set("X-Nonce", nonce)
	req.Header.Set("X-Signature", base64.StdEncoding.EncodeToString(sig))
	return nil
}

// ErrResponseSignature is VerifyResponse's refusal.
var ErrResponseSignature = errors.New("sdk: the answer's platform signature is missing, stale or wrong")

// VerifyResponse checks an answer of the platform was signed by one of its
// keys (keyed by their IDs, as platformPublicKeys lists them). The caller
// also checks the answer's X-Nonce is its request's: the platform signs the
// request's nonce, binding the answer to the request.
func VerifyResponse(h http.Header, path string, body []byte, keys map[string]*ecdsa.PublicKey, now time.Time) error {
	pub := keys[h.Get("X-Key-Id")]
	ts, err := strconv.ParseInt(h.Get("X-Timestamp"), 10, 64)
	sig, serr := base64.StdEncoding.DecodeString(h.Get("X-Signature"))
	if pub == nil || err != nil || serr != nil {
		return ErrResponseSignature
	}
	if d := now.Sub(time.UnixMilli(ts)); d > MaxSkew || d < -MaxSkew {
		return ErrResponseSignature
	}
	if !sm2.VerifyASN1WithSM2(pub, nil, StringToSign("RESPONSE", path, ts, h.Get("X-Nonce"), body), sig) {
		return ErrResponseSignature
	}
	return nil
}

// ErrEnvelope is OpenEnvelope's refusal of a truncated, tampered or
// foreign envelope.
var ErrEnvelope = errors.New("sdk: the envelope is truncated, tampered with or sealed under another key")

// OpenEnvelope opens a user-information envelope: base64 of
// nonce(12)‖ciphertext‖tag(16), SM4-GCM under the data key.
func OpenEnvelope(key []byte, envelope string) ([]byte, error) {
	sealed, err := base64.StdEncoding.DecodeString(envelope)
	if err != nil || len(sealed) < 12+16 {
		return nil, ErrEnvelope
	}
	block, err := sm4.NewCipher(key)
	if err != nil {
		return nil, err
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	plain, err := aead.Open(nil, sealed[:12], sealed[12:], nil)
	if err != nil {
		return nil, ErrEnvelope
	}
	return plain, nil
}

// Client exchanges tickets for one app.
type Client struct {
	// BaseURL is the platform's address, e.g. https://zwfw.example.gov.cn.
	BaseURL string
	// AppID is the app's code in the app centre.
	AppID string
	// PrivateKey is the app's SM2 key, whose public half the app centre
	// holds.
	PrivateKey *sm2.PrivateKey
	// PlatformKeys verify the platform's answers (platformPublicKeys).
	PlatformKeys map[string]*ecdsa.PublicKey
	// DataKeys are the app's data keys by version (DecryptDataKey).
	DataKeys map[int][]byte
	// HTTP is the client to use (default: 10 s timeout).
	HTTP *http.Client
}

// Error is the platform's refusal of an exchange: its HTTP status, code
// (TICKET_USED, NONCE_REUSED, …) and Chinese message.
type Error struct {
	Status        int
	Code, Message string
}

func (e *Error) Error() string {
	return fmt.Sprintf("platform refused (%d %s): %s", e.Status, e.Code, e.Message)
}

// Exchange trades a one-time ticket for the user's information: the
// fields the user authorized, and openId. Licences, when authorized, are
// in ExchangeInfo's answer.
func (c *Client) Exchange(ctx context.Context, ticket string) (map[string]string, error) {
	info, err := c.ExchangeInfo(ctx, ticket)
	if err != nil {
		return nil, err
	}
	return info.Fields, nil
}

// UserInfo is what an exchange gives: the text fields the user authorized
// (with openId) and, when the user authorized "licenses", their licences
// in force.
type UserInfo struct {
	Fields   map[string]string
	Licenses []License
}

// License is one of the user's electronic licences (8.3.2 c): its content
// and the file sealed by the issuing agency, which anyone can check with
// the platform's verifyLicense.
type License struct {
	Kind      string `json:"kind"`
	Title     string `json:"title"`
	Number    string `json:"number"`
	Holder    string `json:"holder"`
	Issuer    string `json:"issuer"`
	IssuedAt  string `json:"issuedAt"`
	ExpiresAt string `json:"expiresAt"`
	Fields    []struct {
		Name  string `json:"name"`
		Value string `json:"value"`
	} `json:"fields"`
	File string `json:"-"`
}

// ExchangeInfo trades a one-time ticket for the user's information.
func (c *Client) ExchangeInfo(ctx context.Context, ticket string) (*UserInfo, error) {
	body, _ := json.Marshal(map[string]string{"ticket": ticket})
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, strings.TrimRight(c.BaseURL, "/")+ExchangePath, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	if err := Sign(req, body, c.AppID, c.PrivateKey, time.Now()); err != nil {
		return nil, err
	}
	hc := c.HTTP
	if hc == nil {
		hc = &http.Client{Timeout: 10 * time.Second}
	}
	res, err := hc.Do(req)
	if err != nil {
		return nil, err
	}
	defer res.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(res.Body, 1<<20))
	if err != nil {
		return nil, err
	}
	// The answer must be the platform's, and to this request: it signs
	// the request's own nonce.
	if res.Header.Get("X-Nonce") != req.Header.Get("X-Nonce") {
		return nil, ErrResponseSignature
	}
	if err := VerifyResponse(res.Header, ExchangePath, raw, c.PlatformKeys, time.Now()); err != nil {
		return nil, err
	}
	var out struct {
		Result, Data, Code, Message string
		KeyVersion                  int
	}
	if err := json.Unmarshal(raw, &out); err != nil {
		return nil, fmt.Errorf("sdk: the platform's answer is not JSON: %w", err)
	}
	if out.Result != "true" {
		return nil, &Error{Status: res.StatusCode, Code: out.Code, Message: out.Message}
	}
	key := c.DataKeys[out.KeyVersion]
	if key == nil {
		return nil, fmt.Errorf("sdk: no data key of version %d (fetch the new one from the app centre)", out.KeyVersion)
	}
	plain, err := OpenEnvelope(key, out.Data)
	if err != nil {
		return nil, err
	}
	var parts map[string]json.RawMessage
	if err := json.Unmarshal(plain, &parts); err != nil {
		return nil, fmt.Errorf("sdk: the user information is not JSON: %w", err)
	}
	info := &UserInfo{Fields: map[string]string{}}
	for k, v := range parts {
		if k == "licenses" {
			var list []struct {
				Document License `json:"document"`
				File     string  `json:"file"`
			}
			if err := json.Unmarshal(v, &list); err != nil {
				return nil, fmt.Errorf("sdk: the licences are not readable: %w", err)
			}
			for _, l := range list {
				l.Document.File = l.File
				info.Licenses = append(info.Licenses, l.Document)
			}
			continue
		}
		var s string
		if json.Unmarshal(v, &s) == nil {
			info.Fields[k] = s
		}
	}
	return info, nil
}
