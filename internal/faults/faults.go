// Package faults puts Shopify's toxiproxy, run in-process as a library, between Tenantry and the
// services it depends on (the Firestore emulator, stripe-mock, mailpit's SMTP), so tests and the
// soak run (bench/soak) can slow, reset, stall or cut one dependency at a time and check what
// Tenantry guarantees through it. Everything listens on 127.0.0.1 ephemeral ports.
//
//	px, err := faults.Start(map[string]string{"firestore": "127.0.0.1:8181"})
//	defer px.Close()
//	os.Setenv("FIRESTORE_EMULATOR_HOST", px.Addr("firestore"))
//	px.Latency("firestore", 1500*time.Millisecond) // until px.Clear("firestore")
package faults

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	toxiproxy "github.com/Shopify/toxiproxy/v2"
	"github.com/rs/zerolog"
)

// Proxies is one in-process toxiproxy server with one TCP proxy per dependency.
type Proxies struct {
	server  *toxiproxy.ApiServer
	mu      sync.Mutex
	proxies map[string]*toxiproxy.Proxy
	counts  map[string]int // "<proxy> <fault>" → times injected
}

// Start listens on a 127.0.0.1 ephemeral port for each named upstream (host:port) and forwards
// to it, with no toxic until one is added.
func Start(upstreams map[string]string) (*Proxies, error) {
	p := &Proxies{
		server:  toxiproxy.NewServer(toxiproxy.NewMetricsContainer(nil), zerolog.Nop()),
		proxies: map[string]*toxiproxy.Proxy{},
		counts:  map[string]int{},
	}
	for _, name := range slices.Sorted(maps.Keys(upstreams)) {
		px := toxiproxy.NewProxy(p.server, name, "127.0.0.1:0", upstreams[name])
		if err := p.server.Collection.Add(px, true); err != nil {
			p.Close()
			return nil, fmt.Errorf("faults: start the %s proxy to %s: %w", name, upstreams[name], err)
		}
		p.proxies[name] = px
	}
	return p, nil
}

// Addr is the host:port the named proxy listens on: give it to Tenantry instead of the upstream's.
func (p *Proxies) Addr(name string) string { return p.proxy(name).Listen }

func (p *Proxies) proxy(name string) *toxiproxy.Proxy {
	px, ok := p.proxies[name]
	if !ok {
		panic("faults: no proxy named " + name) // a programming error in the caller
	}
	return px
}

// Close stops every proxy and drops their connections.
func (p *Proxies) Close() { _ = p.server.Collection.Clear() }

// Latency delays every chunk of data in both directions by d (±10%).
func (p *Proxies) Latency(name string, d time.Duration) error {
	ms := d.Milliseconds()
	for _, stream := range []string{"upstream", "downstream"} {
		if err := p.add(name, "latency", stream, map[string]any{"latency": ms, "jitter": ms / 10}); err != nil {
			return err
		}
	}
	p.count(name, "latency")
	return nil
}

// ResetAnswers resets every connection (TCP RST) as soon as the dependency starts answering: the
// request got there and was acted on, but the answer is lost, as when a network fails or a
// client times out at the worst moment.
func (p *Proxies) ResetAnswers(name string) error {
	if err := p.add(name, "reset_peer", "downstream", map[string]any{"timeout": 0}); err != nil {
		return err
	}
	p.count(name, "reset")
	return nil
}

// Stall swallows everything sent through the proxy and closes each connection after d: every
// call in flight times out.
func (p *Proxies) Stall(name string, d time.Duration) error {
	if err := p.add(name, "timeout", "upstream", map[string]any{"timeout": d.Milliseconds()}); err != nil {
		return err
	}
	p.count(name, "timeout")
	return nil
}

// Down closes the proxy's listener and its open connections: the dependency refuses connections
// until Up.
func (p *Proxies) Down(name string) {
	p.proxy(name).Stop()
	p.count(name, "down")
}

// Up listens again, on the same address, after Down.
func (p *Proxies) Up(name string) error {
	px := p.proxy(name)
	if err := px.Start(); err != nil && err != toxiproxy.ErrProxyAlreadyStarted {
		return fmt.Errorf("faults: restart the %s proxy on %s: %w", name, px.Listen, err)
	}
	return nil
}

// Clear removes every toxic of the named proxy (Up is separate).
func (p *Proxies) Clear(name string) {
	p.proxy(name).Toxics.ResetToxics(context.Background())
}

// Injected counts the faults injected so far, by "<proxy> <fault>".
func (p *Proxies) Injected() map[string]int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return maps.Clone(p.counts)
}

func (p *Proxies) count(name, fault string) {
	p.mu.Lock()
	p.counts[name+" "+fault]++
	p.mu.Unlock()
}

// add adds one toxic to the named proxy, named after its type and stream (so adding the same
// toxic twice fails: Clear first).
func (p *Proxies) add(name, typ, stream string, attrs map[string]any) error {
	body, err := json.Marshal(map[string]any{"type": typ, "stream": stream, "toxicity": 1.0, "attributes": attrs})
	if err != nil {
		return err
	}
	if _, err := p.proxy(name).Toxics.AddToxicJson(strings.NewReader(string(body))); err != nil {
		return fmt.Errorf("faults: add %s (%s) to the %s proxy: %w", typ, stream, name, err)
	}
	return nil
}

// Around starts the three proxies Tenantry's tests put faults in, "firestore" (to the emulator's
// host:port), "stripe" (to a StripeRecorder in front of stripe-mock's URL) and "smtp" (to the host
// of SMTP_URL), and the recorder. Close both when done.
func Around(firestoreHost, stripeURL, smtpURL string) (*Proxies, *StripeRecorder, error) {
	smtp, err := url.Parse(smtpURL)
	if err != nil || smtp.Host == "" {
		return nil, nil, fmt.Errorf("faults: SMTP URL %q: %v", smtpURL, err)
	}
	rec, err := StartStripeRecorder(stripeURL)
	if err != nil {
		return nil, nil, err
	}
	px, err := Start(map[string]string{
		"firestore": firestoreHost, "stripe": strings.TrimPrefix(rec.URL, "http://"), "smtp": smtp.Host,
	})
	if err != nil {
		rec.Close()
		return nil, nil, err
	}
	return px, rec, nil
}
