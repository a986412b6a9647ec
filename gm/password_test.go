package gm

import (
	"bytes"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

var encodedRe = regexp.MustCompile(`^pbkdf2-sm3\$` + strconv.Itoa(PasswordIterations) + `\$[A-Za-z0-9+/]{22}\$[A-Za-z0-9+/]{43}$`)

func TestPasswordHashFormat(t *testing.T) {
	enc, err := PasswordHash("Correct-Horse-9")
	if err != nil {
		t.Fatal(err)
	}
	if !encodedRe.MatchString(enc) {
		t.Errorf("PasswordHash = %q, does not match %s", enc, encodedRe)
	}
	if strings.Contains(enc, "Correct-Horse-9") {
		t.Error("encoded hash contains the password")
	}
	enc2, _ := PasswordHash("Correct-Horse-9")
	if enc == enc2 {
		t.Error("two hashes of the same password are equal: salt not random")
	}
}

func TestPasswordVerify(t *testing.T) {
	enc, err := PasswordHash("Zhang-San-2024")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		password string
		want     bool
	}{
		{"Zhang-San-2024", true},
		{"zhang-San-2024", false},
		{"Zhang-San-2024 ", false},
		{"Zhang-San-202", false},
		{"", false},
		{"张三", false},
	}
	for _, tt := range tests {
		t.Run(tt.password, func(t *testing.T) {
			got, err := PasswordVerify(enc, tt.password)
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("PasswordVerify(%q) = %v, want %v", tt.password, got, tt.want)
			}
		})
	}
}

func TestPasswordHashUnicodeAndEmpty(t *testing.T) {
	for _, pw := range []string{"", "密码Ab1!", strings.Repeat("a", 200)} {
		enc, err := PasswordHash(pw)
		if err != nil {
			t.Fatal(err)
		}
		if ok, err := PasswordVerify(enc, pw); !ok || err != nil {
			t.Errorf("PasswordVerify(PasswordHash(%q)) = %v, %v", pw, ok, err)
		}
	}
}

// pbkdf2ByHand is RFC 8018 §5.2 written out over HMACSM3, so the stored
// format is reproducible by any PBKDF2 implementation given HMAC-SM3.
func pbkdf2ByHand(password string, salt []byte, iter, keyLen int) []byte {
	var out []byte
	for block := uint32(1); len(out) < keyLen; block++ {
		u := HMACSM3([]byte(password), binary.BigEndian.AppendUint32(bytes.Clone(salt), block))
		t := bytes.Clone(u)
		for range iter - 1 {
			u = HMACSM3([]byte(password), u)
			for i := range t {
				t[i] ^= u[i]
			}
		}
		out = append(out, t...)
	}
	return out[:keyLen]
}

func encodeHash(iter int, salt, hash []byte) string {
	return "pbkdf2-sm3$" + strconv.Itoa(iter) + "$" + base64.RawStdEncoding.EncodeToString(salt) + "$" + base64.RawStdEncoding.EncodeToString(hash)
}

func TestPasswordVerifyReadsIterationCount(t *testing.T) {
	salt := []byte("0123456789abcdef")
	for _, iter := range []int{1, 2, 1000} {
		enc := encodeHash(iter, salt, pbkdf2ByHand("pw", salt, iter, 32))
		ok, err := PasswordVerify(enc, "pw")
		if err != nil || !ok {
			t.Errorf("iter %d: PasswordVerify = %v, %v; want true", iter, ok, err)
		}
		if ok, _ := PasswordVerify(enc, "px"); ok {
			t.Errorf("iter %d: wrong password verified", iter)
		}
		if !PasswordNeedsRehash(enc) {
			t.Errorf("iter %d: PasswordNeedsRehash = false", iter)
		}
	}
	enc, _ := PasswordHash("pw")
	if PasswordNeedsRehash(enc) {
		t.Error("a fresh hash needs rehash")
	}
	if !PasswordNeedsRehash("garbage") {
		t.Error("garbage does not need rehash")
	}
}

func TestPasswordHashMatchesPBKDF2ByHand(t *testing.T) {
	enc, _ := PasswordHash("pw")
	parts := strings.Split(enc, "$")
	salt, _ := base64.RawStdEncoding.DecodeString(parts[2])
	want := base64.RawStdEncoding.EncodeToString(pbkdf2ByHand("pw", salt, PasswordIterations, 32))
	if parts[3] != want {
		t.Errorf("hash part = %s, want %s", parts[3], want)
	}
}

func TestPasswordVerifyParseErrors(t *testing.T) {
	salt := base64.RawStdEncoding.EncodeToString([]byte("0123456789abcdef"))
	hash := base64.RawStdEncoding.EncodeToString(make([]byte, 32))
	tests := []struct {
		name, enc string
	}{
		{"empty", ""},
		{"plain text password", "Zhang-San-2024"},
		{"other scheme", "pbkdf2-sha256$1000$" + salt + "$" + hash},
		{"bcrypt", "$2a$10$N9qo8uLOickgx2ZMRZoMyeIjZAgcfl7p92ldGxad68LJZdL17lhWy"},
		{"three parts", "pbkdf2-sm3$1000$" + salt},
		{"five parts", "pbkdf2-sm3$1000$" + salt + "$" + hash + "$x"},
		{"iteration not a number", "pbkdf2-sm3$many$" + salt + "$" + hash},
		{"iteration zero", "pbkdf2-sm3$0$" + salt + "$" + hash},
		{"iteration negative", "pbkdf2-sm3$-5$" + salt + "$" + hash},
		{"iteration leading plus", "pbkdf2-sm3$+1000$" + salt + "$" + hash},
		{"iteration leading zero", "pbkdf2-sm3$01000$" + salt + "$" + hash},
		{"iteration too large", "pbkdf2-sm3$2000000000$" + salt + "$" + hash},
		{"iteration overflow", "pbkdf2-sm3$99999999999999999999999$" + salt + "$" + hash},
		{"salt not base64", "pbkdf2-sm3$1000$!!!!$" + hash},
		{"salt padded", "pbkdf2-sm3$1000$" + base64.StdEncoding.EncodeToString([]byte("0123456789abcdef")) + "$" + hash},
		{"salt empty", "pbkdf2-sm3$1000$$" + hash},
		{"salt too short", "pbkdf2-sm3$1000$" + base64.RawStdEncoding.EncodeToString([]byte("abc")) + "$" + hash},
		{"hash not base64", "pbkdf2-sm3$1000$" + salt + "$###"},
		{"hash empty", "pbkdf2-sm3$1000$" + salt + "$"},
		{"hash too short", "pbkdf2-sm3$1000$" + salt + "$" + base64.RawStdEncoding.EncodeToString(make([]byte, 8))},
		{"hash too long", "pbkdf2-sm3$1000$" + salt + "$" + base64.RawStdEncoding.EncodeToString(make([]byte, 65))},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ok, err := PasswordVerify(tt.enc, "Zhang-San-2024")
			if !errors.Is(err, ErrPasswordHashFormat) {
				t.Errorf("err = %v, want ErrPasswordHashFormat", err)
			}
			if ok {
				t.Error("verified a malformed hash")
			}
		})
	}
}

// The dummy verification must take as long as a real one, or the login
// response time tells whether a username exists (10.3 f).
func TestPasswordDummyVerifyTiming(t *testing.T) {
	if testing.Short() {
		t.Skip("timing")
	}
	enc, _ := PasswordHash("real-password")
	// The two are timed in turn, the fastest of ten each, so that load on
	// a shared machine falls on both alike.
	timed := func(f func()) time.Duration {
		start := time.Now()
		f()
		return time.Since(start)
	}
	real, dummy := time.Duration(1<<63-1), time.Duration(1<<63-1)
	for range 10 {
		real = min(real, timed(func() { PasswordVerify(enc, "guess") }))
		dummy = min(dummy, timed(func() { PasswordDummyVerify("guess") }))
	}
	ratio := float64(dummy) / float64(real)
	t.Logf("verify %v, dummy %v", real, dummy)
	if ratio < 0.7 || ratio > 1.4 {
		t.Errorf("dummy verification takes %v, real %v (ratio %.2f)", dummy, real, ratio)
	}
}

func BenchmarkPasswordHash(b *testing.B) {
	for b.Loop() {
		if _, err := PasswordHash("Zhang-San-2024"); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkPasswordVerify(b *testing.B) {
	enc, _ := PasswordHash("Zhang-San-2024")
	for b.Loop() {
		PasswordVerify(enc, "Zhang-San-2024")
	}
}

func BenchmarkPasswordDummyVerify(b *testing.B) {
	for b.Loop() {
		PasswordDummyVerify("Zhang-San-2024")
	}
}
