// Package faultproxy is a TCP proxy on loopback for fault tests: it stands
// between a client under test and a real server (MariaDB, Redis, NATS) and
// plays that server's failures — stopped (Down: live connections closed,
// new ones refused), hung (Stall: connections accepted, nothing answered),
// or cut off by a firewall that drops an established flow (Freeze: open
// connections go silent without closing) — and its return (Up), on the same
// address. Tests use it so that the machine's shared servers are never
// stopped.
package faultproxy

import (
	"io"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// Proxy forwards connections on its address to the target.
type Proxy struct {
	target, addr string

	mu      sync.Mutex
	ln      net.Listener
	stalled bool
	conns   map[net.Conn]*atomic.Bool // → the pair's frozen flag
	wg      sync.WaitGroup
}

// New starts a proxy to target on a free loopback port.
func New(target string) (*Proxy, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	p := &Proxy{target: target, addr: ln.Addr().String(), conns: map[net.Conn]*atomic.Bool{}}
	p.serve(ln)
	return p, nil
}

// Addr is the proxy's host:port.
func (p *Proxy) Addr() string { return p.addr }

func (p *Proxy) serve(ln net.Listener) {
	p.mu.Lock()
	p.ln = ln
	p.mu.Unlock()
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			p.mu.Lock()
			stalled := p.stalled
			if stalled {
				p.conns[c] = new(atomic.Bool) // held open, never answered
			}
			p.mu.Unlock()
			if !stalled {
				go p.pipe(ln, c)
			}
		}
	}()
}

// pipe copies between a client and a fresh connection to the target.
func (p *Proxy) pipe(ln net.Listener, client net.Conn) {
	server, err := net.DialTimeout("tcp", p.target, 5*time.Second)
	if err != nil {
		client.Close()
		return
	}
	p.mu.Lock()
	if p.ln != ln || p.stalled { // went down or hung meanwhile
		p.mu.Unlock()
		client.Close()
		server.Close()
		return
	}
	frozen := new(atomic.Bool)
	p.conns[client], p.conns[server] = frozen, frozen
	p.mu.Unlock()
	done := make(chan struct{}, 2)
	go func() { _, _ = io.Copy(server, gate(client, frozen)); done <- struct{}{} }()
	go func() { _, _ = io.Copy(client, gate(server, frozen)); done <- struct{}{} }()
	<-done
	client.Close()
	server.Close()
	<-done
	p.mu.Lock()
	delete(p.conns, client)
	delete(p.conns, server)
	p.mu.Unlock()
}

// gate holds back what r reads while the connection is frozen.
func gate(r io.Reader, frozen *atomic.Bool) io.Reader {
	return readerFunc(func(b []byte) (int, error) {
		n, err := r.Read(b)
		for frozen.Load() {
			time.Sleep(10 * time.Millisecond)
		}
		return n, err
	})
}

type readerFunc func([]byte) (int, error)

func (f readerFunc) Read(b []byte) (int, error) { return f(b) }

// cut closes every connection; p.mu is held.
func (p *Proxy) cut() {
	for c, frozen := range p.conns {
		frozen.Store(false)
		c.Close()
		delete(p.conns, c)
	}
}

// Down is the server stopped: the listener and every live connection
// closed, so new connections are refused.
func (p *Proxy) Down() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.ln != nil {
		p.ln.Close()
		p.ln = nil
	}
	p.cut()
}

// Stall is the server hung: live connections are closed and new ones are
// accepted but never answered.
func (p *Proxy) Stall() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.stalled = true
	p.cut()
}

// Freeze is an established flow dropped by a firewall: every open
// connection goes silent for ever without closing; new connections work.
func (p *Proxy) Freeze() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, frozen := range p.conns {
		frozen.Store(true)
	}
}

// Up is the server back: stalled and frozen connections are closed and the
// proxy listens on its address again (waiting for the port if need be).
func (p *Proxy) Up() error {
	p.mu.Lock()
	p.stalled = false
	p.cut()
	running := p.ln != nil
	p.mu.Unlock()
	if running {
		return nil
	}
	var err error
	for range 100 {
		var ln net.Listener
		if ln, err = net.Listen("tcp", p.addr); err == nil {
			p.serve(ln)
			return nil
		}
		time.Sleep(50 * time.Millisecond)
	}
	return err
}

// Close stops the proxy for good.
func (p *Proxy) Close() {
	p.Down()
	p.wg.Wait()
}

// Start is New for a test: the proxy is closed when the test ends.
func Start(t testing.TB, target string) *Proxy {
	t.Helper()
	p, err := New(target)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Close)
	return p
}
