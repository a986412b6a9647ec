package ratelimit

import (
	"strconv"
	"testing"
	"time"
)

func TestBurstThenRefill(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	l := NewLocal(2, 3)
	l.now = func() time.Time { return now }
	for i := range 3 {
		if ok, _ := l.Allow("a"); !ok {
			t.Fatalf("call %d within the burst refused", i)
		}
	}
	ok, wait := l.Allow("a")
	if ok || wait <= 0 || wait > 500*time.Millisecond {
		t.Fatalf("over the burst: %v %v", ok, wait)
	}
	if ok, _ := l.Allow("b"); !ok {
		t.Fatal("another key shares the bucket")
	}
	now = now.Add(500 * time.Millisecond)
	if ok, _ := l.Allow("a"); !ok {
		t.Fatal("no token after the wait it was told")
	}
}

func TestRefusalsDoNotDrain(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	l := NewLocal(1, 1)
	l.now = func() time.Time { return now }
	l.Allow("a")
	for range 100 {
		l.Allow("a") // refused: must not push the next token further away
	}
	now = now.Add(time.Second)
	if ok, _ := l.Allow("a"); !ok {
		t.Fatal("refused calls kept the bucket empty")
	}
}

func TestKeyFloodStaysBounded(t *testing.T) {
	l := NewLocal(1, 1)
	for i := range maxBuckets + 5000 {
		l.Allow(strconv.Itoa(i))
	}
	if n := l.buckets.Len(); n > maxBuckets {
		t.Fatalf("%d buckets, bound %d", n, maxBuckets)
	}
}

func TestOffLetsAllThrough(t *testing.T) {
	l := NewLocal(0, 0)
	for range 1000 {
		if ok, _ := l.Allow("a"); !ok {
			t.Fatal("a limiter turned off refused")
		}
	}
	var nilLimiter *Local
	if ok, _ := nilLimiter.Allow("a"); !ok {
		t.Fatal("a nil limiter refused")
	}
}
