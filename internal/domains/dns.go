package domains

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"time"

	"github.com/miekg/dns"
)

// TXTResolver looks up the TXT records of a name. The domain calls it to check a challenge; an
// error means the answer is unknown (timeout, server failure), which keeps a domain pending,
// while a name that does not exist is no error and no records.
type TXTResolver interface {
	LookupTXT(ctx context.Context, name string) ([]string, error)
}

// DNSResolver is the TXTResolver over miekg/dns: one UDP query (TCP when truncated) to Server,
// bounded by Timeout and the context.
type DNSResolver struct {
	Server  string // host:port
	Timeout time.Duration
}

// DefaultDNSTimeout bounds one lookup.
const DefaultDNSTimeout = 3 * time.Second

// NewDNSResolver queries server ("host:port"), or, when it is "", the first nameserver of the
// system's /etc/resolv.conf.
func NewDNSResolver(server string, timeout time.Duration) (*DNSResolver, error) {
	if timeout <= 0 {
		timeout = DefaultDNSTimeout
	}
	if server == "" {
		conf, err := dns.ClientConfigFromFile("/etc/resolv.conf")
		if err != nil || len(conf.Servers) == 0 {
			return nil, fmt.Errorf("no DNS resolver: set TENANTRY_DNS_RESOLVER to host:port, or configure /etc/resolv.conf: %v", err)
		}
		server = net.JoinHostPort(conf.Servers[0], conf.Port)
	}
	if _, _, err := net.SplitHostPort(server); err != nil {
		return nil, fmt.Errorf("TENANTRY_DNS_RESOLVER %q is not host:port: %w", server, err)
	}
	return &DNSResolver{Server: server, Timeout: timeout}, nil
}

// errDNS is an answer that says nothing about the record (server failure, refused).
var errDNS = errors.New("DNS server failure")

// LookupTXT implements TXTResolver.
func (r *DNSResolver) LookupTXT(ctx context.Context, name string) ([]string, error) {
	ctx, cancel := context.WithTimeout(ctx, r.Timeout)
	defer cancel()
	m := new(dns.Msg)
	m.SetQuestion(dns.Fqdn(name), dns.TypeTXT)
	m.RecursionDesired = true
	c := &dns.Client{Net: "udp", Timeout: r.Timeout}
	in, _, err := c.ExchangeContext(ctx, m, r.Server)
	if err == nil && in.Truncated {
		c.Net = "tcp"
		in, _, err = c.ExchangeContext(ctx, m, r.Server)
	}
	if err != nil {
		return nil, fmt.Errorf("TXT lookup of %s at %s: %w", name, r.Server, err)
	}
	switch in.Rcode {
	case dns.RcodeSuccess, dns.RcodeNameError:
	default:
		return nil, fmt.Errorf("TXT lookup of %s: %w (%s)", name, errDNS, dns.RcodeToString[in.Rcode])
	}
	var out []string
	for _, rr := range in.Answer {
		if t, ok := rr.(*dns.TXT); ok {
			out = append(out, joinTXT(t.Txt))
		}
	}
	return out, nil
}

// joinTXT joins a record's character strings: a long value is split into 255-byte pieces.
func joinTXT(parts []string) string { return strings.Join(parts, "") }
