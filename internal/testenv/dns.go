package testenv

import (
	"net"
	"strings"
	"sync"
	"testing"

	"github.com/miekg/dns"
)

// DNSServer is a real DNS server on 127.0.0.1 (UDP, miekg/dns) whose TXT records the test sets.
// Every other question is answered NXDOMAIN.
type DNSServer struct {
	Addr string // host:port, for TENANTRY_DNS_RESOLVER

	mu  sync.Mutex
	txt map[string][]string // fqdn, lowercase -> values
}

// NewDNSServer starts the server; it stops when the test ends.
func NewDNSServer(t testing.TB) *DNSServer {
	t.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("testenv: DNS server: %v", err)
	}
	d := &DNSServer{Addr: pc.LocalAddr().String(), txt: map[string][]string{}}
	started := make(chan struct{})
	srv := &dns.Server{PacketConn: pc, Handler: dns.HandlerFunc(d.serve), NotifyStartedFunc: func() { close(started) }}
	go func() { _ = srv.ActivateAndServe() }()
	<-started
	t.Cleanup(func() { _ = srv.Shutdown() })
	return d
}

// SetTXT publishes values as the TXT records of name (none: removes them).
func (d *DNSServer) SetTXT(name string, values ...string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.txt[strings.ToLower(dns.Fqdn(name))] = values
}

func (d *DNSServer) serve(w dns.ResponseWriter, r *dns.Msg) {
	m := new(dns.Msg)
	m.SetReply(r)
	q := r.Question[0]
	d.mu.Lock()
	values := d.txt[strings.ToLower(q.Name)]
	d.mu.Unlock()
	if q.Qtype != dns.TypeTXT || len(values) == 0 {
		m.Rcode = dns.RcodeNameError
	}
	for _, v := range values {
		if q.Qtype == dns.TypeTXT {
			m.Answer = append(m.Answer, &dns.TXT{Hdr: dns.RR_Header{Name: q.Name, Rrtype: dns.TypeTXT, Class: dns.ClassINET, Ttl: 60}, Txt: []string{v}})
		}
	}
	_ = w.WriteMsg(m)
}

// SilentDNSServer is a UDP socket on 127.0.0.1 that takes DNS questions and never answers, like a
// resolver behind a broken network. It returns its host:port; it closes when the test ends.
func SilentDNSServer(t testing.TB) string {
	t.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("testenv: silent DNS server: %v", err)
	}
	go func() {
		buf := make([]byte, 512)
		for {
			if _, _, err := pc.ReadFrom(buf); err != nil {
				return // closed
			}
		}
	}()
	t.Cleanup(func() { _ = pc.Close() })
	return pc.LocalAddr().String()
}
