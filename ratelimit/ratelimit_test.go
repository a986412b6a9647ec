package ratelimit

import (
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

func TestIdleBucketsDropped(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	l := NewLocal(1, 1)
	l.now = func() time.Time { return now }
	for _, k := range []string{"a", "b", "c"} {
		l.Allow(k)
	}
	now = now.Add(idle + time.Minute)
	l.Allow("d")
	if n := len(l.buckets); n != 1 {
		t.Fatalf("%d buckets after a sweep, want 1", n)
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
