package gm

import (
	"bytes"
	"encoding/asn1"
	"encoding/hex"
	"math/big"
	"strings"
	"testing"

	"github.com/emmansun/gmsm/sm2"
	"github.com/emmansun/gmsm/sm3"
	"github.com/emmansun/gmsm/sm4"
)

func mustHex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// GB/T 32905-2016 Appendix A, plus the empty message.
func TestSM3Vectors(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want string
	}{
		{"abc (A.1)", "abc", "66c7f0f462eeedd9d1f2d46bdc10e4e24167c4875cf2f7a2297da02b8f4ba8e0"},
		{"512 bits (A.2)", strings.Repeat("abcd", 16), "debe9ff92275b8a138604889c18e5a4d6fdb70e5387e5765293dcba39c0c5732"},
		{"empty", "", "1ab21d8355cfa17f8e61194831e81a8f22bec8c728fefb747ed035eb5082aa2b"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := SM3Hex([]byte(tt.in)); got != tt.want {
				t.Errorf("SM3Hex(%q) = %s, want %s", tt.in, got, tt.want)
			}
			if got := hex.EncodeToString(SM3([]byte(tt.in))); got != tt.want {
				t.Errorf("SM3(%q) = %s, want %s", tt.in, got, tt.want)
			}
		})
	}
}

// hmacByHand is RFC 2104 written out, independent of crypto/hmac.
func hmacByHand(key, msg []byte) []byte {
	if len(key) > sm3.BlockSize {
		key = SM3(key)
	}
	k := make([]byte, sm3.BlockSize)
	copy(k, key)
	ipad, opad := make([]byte, sm3.BlockSize), make([]byte, sm3.BlockSize)
	for i := range k {
		ipad[i], opad[i] = k[i]^0x36, k[i]^0x5c
	}
	inner := SM3(append(ipad, msg...))
	return SM3(append(opad, inner...))
}

func TestHMACSM3(t *testing.T) {
	tests := []struct {
		name     string
		key, msg []byte
	}{
		{"empty", nil, nil},
		{"short key", []byte("key"), []byte("The quick brown fox jumps over the lazy dog")},
		{"block-size key", bytes.Repeat([]byte{0x0b}, 64), []byte("Hi There")},
		{"long key", bytes.Repeat([]byte{0xaa}, 131), []byte("Test Using Larger Than Block-Size Key")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := HMACSM3(tt.key, tt.msg)
			if want := hmacByHand(tt.key, tt.msg); !bytes.Equal(got, want) {
				t.Errorf("HMACSM3 = %x, want %x", got, want)
			}
			if len(got) != 32 {
				t.Errorf("len = %d, want 32", len(got))
			}
		})
	}
	if bytes.Equal(HMACSM3([]byte("k1"), []byte("m")), HMACSM3([]byte("k2"), []byte("m"))) {
		t.Error("different keys gave the same MAC")
	}
}

// GB/T 32907-2016 Appendix A.
func TestSM4ReferenceVector(t *testing.T) {
	key := mustHex(t, "0123456789abcdeffedcba9876543210")
	block, err := sm4.NewCipher(key)
	if err != nil {
		t.Fatal(err)
	}
	out := make([]byte, 16)
	block.Encrypt(out, key) // plaintext = key
	if got, want := hex.EncodeToString(out), "681edf34d206965e86b3e94f536e4246"; got != want {
		t.Errorf("SM4 single block = %s, want %s", got, want)
	}
	back := make([]byte, 16)
	block.Decrypt(back, out)
	if !bytes.Equal(back, key) {
		t.Errorf("SM4 decrypt = %x, want %x", back, key)
	}
	if testing.Short() {
		return
	}
	// Example 2: the same block encrypted 1,000,000 times.
	for range 1_000_000 {
		block.Encrypt(out, key)
		key = append(key[:0], out...)
	}
	if got, want := hex.EncodeToString(out), "595298c7c6fd271f0402f804c33d3f66"; got != want {
		t.Errorf("SM4 1,000,000 rounds = %s, want %s", got, want)
	}
}

// GB/T 32918 Annex A signature example on the recommended curve (SPEC §6).
// gmsm offers no way to sign with a chosen k (its nonces are hedged), so the
// signature is computed here from gmsm's curve arithmetic and ZA/e hashing,
// checked against the published r, s, and then verified with gmsm's
// VerifyASN1WithSM2, which is the path the platform uses.
func TestSM2AnnexASignature(t *testing.T) {
	msg := []byte("message digest")
	uid := []byte("1234567812345678")
	d := mustHex(t, "3945208F7B2144B13F36E38AC6D39F95889393692860B51A42FB81EF4DF7C5B8")
	k := mustHex(t, "59276E27D506861A16680F3AD9C02DCCEF3CC1FA3CDBE4CE6D54B80DEAC1BC21")
	wantR := mustHex(t, "F5A03B0648D2C4630EEAC513E1BB81A15944DA3827D5B74143AC7EACEEE720B3")
	wantS := mustHex(t, "B1B6AA29DF212FD8763182BC0D421CA1BB9038FD1F7F42D4840B69C485BBC1AA")

	priv, err := sm2.NewPrivateKey(d)
	if err != nil {
		t.Fatal(err)
	}
	pub := &priv.PublicKey
	if got, want := hex.EncodeToString(pub.X.FillBytes(make([]byte, 32))), "09f9df311e5421a150dd7d161e4bc5c672179fad1833fc076bb08ff356f35020"; got != want {
		t.Errorf("public x = %s, want %s", got, want)
	}
	if got, want := hex.EncodeToString(pub.Y.FillBytes(make([]byte, 32))), "ccea490ce26775a52dc6ea718cc1aa600aed05fbf35e084a6632f6072da9ad13"; got != want {
		t.Errorf("public y = %s, want %s", got, want)
	}

	e, err := sm2.CalculateSM2Hash(pub, msg, uid) // SM3(ZA ‖ M)
	if err != nil {
		t.Fatal(err)
	}
	curve := sm2.P256()
	n := curve.Params().N
	x1, _ := curve.ScalarBaseMult(k)
	r := new(big.Int).Add(new(big.Int).SetBytes(e), x1)
	r.Mod(r, n)
	dInt, kInt := new(big.Int).SetBytes(d), new(big.Int).SetBytes(k)
	s := new(big.Int).Sub(kInt, new(big.Int).Mul(r, dInt))
	s.Mul(s, new(big.Int).ModInverse(new(big.Int).Add(dInt, big.NewInt(1)), n))
	s.Mod(s, n)
	if !bytes.Equal(r.FillBytes(make([]byte, 32)), wantR) {
		t.Errorf("r = %X, want %X", r, wantR)
	}
	if !bytes.Equal(s.FillBytes(make([]byte, 32)), wantS) {
		t.Errorf("s = %X, want %X", s, wantS)
	}

	der, err := asn1.Marshal(struct{ R, S *big.Int }{new(big.Int).SetBytes(wantR), new(big.Int).SetBytes(wantS)})
	if err != nil {
		t.Fatal(err)
	}
	if !sm2.VerifyASN1WithSM2(pub, uid, msg, der) {
		t.Error("gmsm does not verify the Annex A signature with the explicit ID")
	}
	if !sm2.VerifyASN1WithSM2(pub, nil, msg, der) {
		t.Error("gmsm does not verify the Annex A signature with the default ID")
	}
	if sm2.VerifyASN1WithSM2(pub, nil, []byte("message digesT"), der) {
		t.Error("gmsm verified the Annex A signature over another message")
	}
}
