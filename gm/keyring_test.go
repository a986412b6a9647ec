package gm

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
)

func TestLoadOrCreateMasterKey(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data", "keys")
	path := filepath.Join(dir, "master.key")

	key, err := LoadOrCreateMasterKey(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(key) != KeySize {
		t.Fatalf("len(key) = %d", len(key))
	}
	if runtime.GOOS != "windows" {
		fi, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		if perm := fi.Mode().Perm(); perm != 0o600 {
			t.Errorf("key file mode = %o, want 600", perm)
		}
		di, err := os.Stat(dir)
		if err != nil {
			t.Fatal(err)
		}
		if perm := di.Mode().Perm(); perm != 0o700 {
			t.Errorf("key dir mode = %o, want 700", perm)
		}
	}
	data, _ := os.ReadFile(path)
	if got := strings.TrimSpace(string(data)); got != hex.EncodeToString(key) {
		t.Errorf("file holds %q, want hex of the key", got)
	}

	again, err := LoadOrCreateMasterKey(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(again, key) {
		t.Error("reload returned another key")
	}

	other, err := LoadOrCreateMasterKey(filepath.Join(dir, "other.key"))
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Equal(other, key) {
		t.Error("two new master keys are equal")
	}
}

func TestLoadMasterKeyFormats(t *testing.T) {
	const h = "0123456789abcdeffedcba9876543210"
	tests := []struct {
		name    string
		content string
		ok      bool
	}{
		{"plain", h, true},
		{"trailing newline", h + "\n", true},
		{"surrounding whitespace", " \t" + h + "\r\n\n", true},
		{"uppercase", strings.ToUpper(h), true},
		{"empty", "", false},
		{"only whitespace", " \n", false},
		{"too short", h[:30], false},
		{"odd length", h[:31], false},
		{"too long (AES-256 style)", h + h, false},
		{"not hex", strings.Repeat("zz", 16), false},
		{"inner space", h[:16] + " " + h[16:], false},
		{"base64 instead of hex", base64.StdEncoding.EncodeToString([]byte("0123456789abcdef")), false},
		{"raw bytes", "0123456789abcdef", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "master.key")
			if err := os.WriteFile(path, []byte(tt.content), 0o600); err != nil {
				t.Fatal(err)
			}
			key, err := LoadOrCreateMasterKey(path)
			if tt.ok {
				if err != nil {
					t.Fatal(err)
				}
				if hex.EncodeToString(key) != h {
					t.Errorf("key = %x, want %s", key, h)
				}
				return
			}
			if err == nil {
				t.Fatalf("accepted %q", tt.content)
			}
			if c := strings.TrimSpace(tt.content); len(c) >= 8 && strings.Contains(err.Error(), c) {
				t.Errorf("error message echoes the file content: %v", err)
			}
			after, _ := os.ReadFile(path)
			if string(after) != tt.content {
				t.Error("a refused key file was modified")
			}
		})
	}
}

func TestLoadMasterKeyUnreadable(t *testing.T) {
	dir := t.TempDir()
	// A directory where the file should be: not "absent", so no new key.
	path := filepath.Join(dir, "master.key")
	if err := os.Mkdir(path, 0o700); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadOrCreateMasterKey(path); err == nil {
		t.Error("accepted a directory as key file")
	}
}

func TestWrapUnwrapKey(t *testing.T) {
	master := GenerateKey(KeySize)
	for _, n := range []int{KeySize, HMACKeySize} {
		key := GenerateKey(n)
		wrapped, err := WrapKey(master, key)
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(wrapped, base64.StdEncoding.EncodeToString(key)) {
			t.Error("wrapped key contains the key")
		}
		got, err := UnwrapKey(master, wrapped)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, key) {
			t.Errorf("UnwrapKey = %x, want %x", got, key)
		}
	}

	key := GenerateKey(KeySize)
	wrapped, _ := WrapKey(master, key)
	raw, _ := base64.StdEncoding.DecodeString(wrapped)
	tampered := bytes.Clone(raw)
	tampered[len(tampered)/2] ^= 0x80
	noAAD, _ := SealGCM(master, key, nil)
	tests := []struct {
		name    string
		master  []byte
		wrapped string
	}{
		{"wrong master", GenerateKey(KeySize), wrapped},
		{"tampered", master, base64.StdEncoding.EncodeToString(tampered)},
		{"truncated", master, base64.StdEncoding.EncodeToString(raw[:20])},
		{"not base64", master, "%%%"},
		{"empty", master, ""},
		{"sealed without the key-wrap aad", master, base64.StdEncoding.EncodeToString(noAAD)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := UnwrapKey(tt.master, tt.wrapped); !errors.Is(err, ErrDecrypt) {
				t.Errorf("err = %v, want ErrDecrypt", err)
			}
		})
	}
	if _, err := WrapKey(make([]byte, 32), key); err == nil {
		t.Error("WrapKey accepted a 32-byte master key")
	}
}

func newTestKeyring(t testing.TB) *Keyring {
	t.Helper()
	k, err := NewKeyring(GenerateKey(KeySize), GenerateKey(HMACKeySize))
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func TestNewKeyringKeySizes(t *testing.T) {
	tests := []struct {
		name          string
		data, hmacKey int
		ok            bool
	}{
		{"valid", 16, 32, true},
		{"data key short", 15, 32, false},
		{"data key 32", 32, 32, false},
		{"hmac key short", 16, 16, false},
		{"hmac key long", 16, 64, false},
		{"both empty", 0, 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := NewKeyring(make([]byte, tt.data), make([]byte, tt.hmacKey))
			if (err == nil) != tt.ok {
				t.Errorf("err = %v, want ok=%v", err, tt.ok)
			}
		})
	}
}

func TestKeyringEncryptDecrypt(t *testing.T) {
	k := newTestKeyring(t)
	for _, plain := range []string{"", "a", "110101199003074514", "13900001111", "阿依古丽·买买提", strings.Repeat("长", 1000)} {
		enc, err := k.EncryptString(plain)
		if err != nil {
			t.Fatal(err)
		}
		if plain == "" {
			if enc != "" {
				t.Errorf("EncryptString(\"\") = %q, want empty", enc)
			}
		} else {
			if len(plain) >= 4 && strings.Contains(enc, plain) {
				t.Errorf("ciphertext contains %q", plain)
			}
			enc2, _ := k.EncryptString(plain)
			if enc == enc2 {
				t.Error("two encryptions are equal")
			}
			if _, err := base64.StdEncoding.DecodeString(enc); err != nil {
				t.Errorf("not standard base64: %v", err)
			}
		}
		got, err := k.DecryptString(enc)
		if err != nil {
			t.Fatal(err)
		}
		if got != plain {
			t.Errorf("round trip = %q, want %q", got, plain)
		}
	}
}

func TestKeyringDecryptRejects(t *testing.T) {
	k := newTestKeyring(t)
	enc, _ := k.EncryptString("110101199003074514")
	raw, _ := base64.StdEncoding.DecodeString(enc)
	tampered := bytes.Clone(raw)
	tampered[NonceSize] ^= 1
	foreign, _ := newTestKeyring(t).EncryptString("110101199003074514")
	tests := []struct{ name, enc string }{
		{"other keyring", foreign},
		{"tampered", base64.StdEncoding.EncodeToString(tampered)},
		{"short", base64.StdEncoding.EncodeToString(raw[:NonceSize+TagSize-1])},
		{"not base64", "110101199003074514!"},
		{"url base64", strings.NewReplacer("+", "-", "/", "_").Replace(enc) + "-_"},
		{"plaintext stored by mistake", "5LiN5piv5a+G5paH"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := k.DecryptString(tt.enc)
			if !errors.Is(err, ErrDecrypt) {
				t.Errorf("err = %v, want ErrDecrypt", err)
			}
			if got != "" {
				t.Errorf("returned %q on failure", got)
			}
		})
	}
}

func TestKeyringBlindIndex(t *testing.T) {
	hmacKey := GenerateKey(HMACKeySize)
	k, _ := NewKeyring(GenerateKey(KeySize), hmacKey)
	k2, _ := NewKeyring(GenerateKey(KeySize), hmacKey) // same HMAC key, other data key
	k3 := newTestKeyring(t)

	a := k.BlindIndex("PHONE", "13900001111")
	if len(a) != 64 {
		t.Errorf("len = %d, want 64 hex digits", len(a))
	}
	if want := hex.EncodeToString(HMACSM3(hmacKey, []byte("PHONE\x0013900001111"))); a != want {
		t.Errorf("BlindIndex = %s, want %s", a, want)
	}
	if k.BlindIndex("PHONE", "13900001111") != a || k2.BlindIndex("PHONE", "13900001111") != a {
		t.Error("blind index is not deterministic for one HMAC key")
	}
	tests := []struct {
		name string
		got  string
	}{
		{"other value", k.BlindIndex("PHONE", "13900001112")},
		{"other kind", k.BlindIndex("ID_NUMBER", "13900001111")},
		{"kind/value boundary", k.BlindIndex("PHONE1", "3900001111")},
		{"other HMAC key", k3.BlindIndex("PHONE", "13900001111")},
		{"plain SM3", SM3Hex([]byte("13900001111"))},
	}
	for _, tt := range tests {
		if tt.got == a {
			t.Errorf("%s: collides with the original index", tt.name)
		}
	}
	if strings.Contains(a, "13900001111") {
		t.Error("index contains the value")
	}
}

func TestKeyringConcurrent(t *testing.T) {
	k := newTestKeyring(t)
	done := make(chan error)
	for i := range 8 {
		go func() {
			var err error
			for j := range 100 {
				plain := strings.Repeat("x", i+j)
				var enc, got string
				if enc, err = k.EncryptString(plain); err != nil {
					break
				}
				if got, err = k.DecryptString(enc); err == nil && got != plain {
					err = errors.New("mismatch")
				}
				if err != nil {
					break
				}
				k.BlindIndex("NAME", plain)
			}
			done <- err
		}()
	}
	for range 8 {
		if err := <-done; err != nil {
			t.Error(err)
		}
	}
}

func TestRandomToken(t *testing.T) {
	seen := map[string]bool{}
	for range 100 {
		tok, err := RandomToken()
		if err != nil {
			t.Fatal(err)
		}
		if len(tok) != 43 {
			t.Fatalf("len(%q) = %d, want 43", tok, len(tok))
		}
		raw, err := base64.RawURLEncoding.DecodeString(tok)
		if err != nil || len(raw) != 32 {
			t.Fatalf("%q is not 32 bytes of unpadded base64url: %v", tok, err)
		}
		if seen[tok] {
			t.Fatal("token repeated")
		}
		seen[tok] = true
	}
}

func TestGenerateKey(t *testing.T) {
	for _, n := range []int{0, 1, 16, 32, 100} {
		if got := len(GenerateKey(n)); got != n {
			t.Errorf("len(GenerateKey(%d)) = %d", n, got)
		}
	}
	if bytes.Equal(GenerateKey(16), GenerateKey(16)) {
		t.Error("two keys are equal")
	}
}

// TestLoadOrCreateMasterKeyConcurrently: processes starting at once on one
// new key file (replicas on a shared volume) all get the one key, and none
// reads a file still being written.
func TestLoadOrCreateMasterKeyConcurrently(t *testing.T) {
	for round := range 20 {
		path := filepath.Join(t.TempDir(), "shared", "master.key")
		keys := make([][]byte, 16)
		errs := make([]error, len(keys))
		var wg sync.WaitGroup
		for i := range keys {
			wg.Add(1)
			go func() { defer wg.Done(); keys[i], errs[i] = LoadOrCreateMasterKey(path) }()
		}
		wg.Wait()
		for i := range keys {
			if errs[i] != nil || !bytes.Equal(keys[i], keys[0]) {
				t.Fatalf("round %d, caller %d: %x, %v (first %x)", round, i, keys[i], errs[i], keys[0])
			}
		}
		if leftovers, _ := filepath.Glob(filepath.Join(filepath.Dir(path), ".master.key-*")); len(leftovers) > 0 {
			t.Fatalf("temporary files left: %v", leftovers)
		}
	}
}
