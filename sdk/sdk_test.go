package sdk_test

import (
	"bytes"
	"crypto/ecdsa"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/emmansun/gmsm/sm4"

	"govmobile/gm"
	"govmobile/sdk"
	"govmobile/signedreq"
)

// TestReferenceVectors: SPEC §6's SM3 and SM4 vectors, through what the
// SDK uses.
func TestReferenceVectors(t *testing.T) {
	s := string(sdk.StringToSign("post", "/p", 1, "n", []byte("abc")))
	if !strings.HasSuffix(s, "\n66c7f0f462eeedd9d1f2d46bdc10e4e24167c4875cf2f7a2297da02b8f4ba8e0") || !strings.HasPrefix(s, "POST\n/p\n1\nn\n") {
		t.Fatalf("string to sign: %q", s)
	}
	key, _ := hex.DecodeString("0123456789abcdeffedcba9876543210")
	c, err := sm4.NewCipher(key)
	if err != nil {
		t.Fatal(err)
	}
	out := make([]byte, 16)
	c.Encrypt(out, key)
	if hex.EncodeToString(out) != "681edf34d206965e86b3e94f536e4246" {
		t.Fatalf("SM4: %x", out)
	}
}

// TestAgainstThePlatform: what the platform's code makes, the SDK opens and
// verifies, and the reverse: keys, data keys, envelopes, signatures.
func TestAgainstThePlatform(t *testing.T) {
	priv, _ := gm.GenerateSM2Key()
	hexKey := gm.SM2PrivateKeyHex(priv)
	parsed, err := sdk.ParsePrivateKey(hexKey)
	if err != nil || parsed.D.Cmp(priv.D) != 0 {
		t.Fatalf("private key from hex: %v", err)
	}
	pubHex := gm.SM2PublicKeyHex(&priv.PublicKey)
	if sdk.PublicKeyHex(&priv.PublicKey) != pubHex {
		t.Fatal("public key hex differs")
	}
	pemKey, _ := gm.SM2PublicKeyPEM(&priv.PublicKey)
	if pub, err := sdk.ParsePublicKey(pemKey); err != nil || sdk.PublicKeyHex(pub) != pubHex {
		t.Fatalf("public key from PEM: %v", err)
	}

	// The data key: SM2, C1C3C2, 04 prefix.
	dataKey := gm.GenerateKey(16)
	ct, err := gm.SM2Encrypt(&priv.PublicKey, dataKey)
	if err != nil || ct[0] != 4 || len(ct) != 65+32+16 {
		t.Fatalf("ciphertext: %x %v", ct, err)
	}
	if got, err := sdk.DecryptDataKey(priv, hex.EncodeToString(ct)); err != nil || !bytes.Equal(got, dataKey) {
		t.Fatalf("data key: %v", err)
	}
	ct[len(ct)-1] ^= 1
	if _, err := sdk.DecryptDataKey(priv, hex.EncodeToString(ct)); err == nil {
		t.Fatal("a tampered data key decrypted")
	}

	// Envelopes.
	plain := []byte(`{"name":"张三","openId":"x"}`)
	sealed, _ := gm.SealGCM(dataKey, plain, nil)
	env := base64.StdEncoding.EncodeToString(sealed)
	if got, err := sdk.OpenEnvelope(dataKey, env); err != nil || !bytes.Equal(got, plain) {
		t.Fatalf("envelope: %v", err)
	}
	tampered := bytes.Clone(sealed)
	tampered[14] ^= 0x80
	for name, e := range map[string]string{
		"truncated":   base64.StdEncoding.EncodeToString(sealed[:len(sealed)-1]),
		"too short":   base64.StdEncoding.EncodeToString(sealed[:20]),
		"tampered":    base64.StdEncoding.EncodeToString(tampered),
		"not base64":  "%%%",
		"another key": env,
	} {
		k := dataKey
		if name == "another key" {
			k = gm.GenerateKey(16)
		}
		if _, err := sdk.OpenEnvelope(k, e); !errors.Is(err, sdk.ErrEnvelope) {
			t.Errorf("%s: %v", name, err)
		}
	}

	// Requests the SDK signs verify on the platform.
	body := []byte(`{"ticket":"t"}`)
	req, _ := http.NewRequest(http.MethodPost, "https://p.example/open/v1/user-info", bytes.NewReader(body))
	if err := sdk.Sign(req, body, "app", priv, time.Now()); err != nil {
		t.Fatal(err)
	}
	if err := signedreq.Check(req, body, &priv.PublicKey, time.Now()); err != nil {
		t.Fatalf("platform check of an SDK signature: %v", err)
	}

	// Answers the platform signs verify in the SDK; others do not.
	answer := []byte(`{"result":"true"}`)
	ts := time.Now().UnixMilli()
	sig, _ := gm.SM2Sign(priv, signedreq.StringToSign("RESPONSE", sdk.ExchangePath, ts, "0123456789abcdef", answer))
	h := http.Header{}
	h.Set("X-Key-Id", "k1")
	h.Set("X-Timestamp", strconv.FormatInt(ts, 10))
	h.Set("X-Nonce", "0123456789abcdef")
	h.Set("X-Signature", base64.StdEncoding.EncodeToString(sig))
	keys := map[string]*ecdsa.PublicKey{"k1": &priv.PublicKey}
	if err := sdk.VerifyResponse(h, sdk.ExchangePath, answer, keys, time.Now()); err != nil {
		t.Fatalf("a platform answer: %v", err)
	}
	if err := sdk.VerifyResponse(h, sdk.ExchangePath, []byte(`{"result":"false"}`), keys, time.Now()); err == nil {
		t.Error("a changed answer verified")
	}
	if err := sdk.VerifyResponse(h, sdk.ExchangePath, answer, keys, time.Now().Add(time.Hour)); err == nil {
		t.Error("a stale answer verified")
	}
	other, _ := gm.GenerateSM2Key()
	if err := sdk.VerifyResponse(h, sdk.ExchangePath, answer, map[string]*ecdsa.PublicKey{"k1": &other.PublicKey}, time.Now()); err == nil {
		t.Error("an answer verified under another key")
	}
}
