package testenv

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"
)

// MailpitClient reads what the local mailpit (scripts/stack.sh: SMTP 127.0.0.1:1025, HTTP API
// 127.0.0.1:8025) received. Every test shares one mailpit, so tests never delete messages: they
// send to addresses of their own (NewMailbox) and search by them.
type MailpitClient struct {
	API     string // MAILPIT_API, e.g. http://127.0.0.1:8025
	SMTPURL string // SMTP_URL, e.g. smtp://127.0.0.1:1025
	t       testing.TB
}

// Mailbox is a test's own domain: every address under it is unique to the test.
type Mailbox struct {
	Domain string
	m      *MailpitClient
}

// MailAddress is an address in a message.
type MailAddress struct {
	Name    string `json:"Name"`
	Address string `json:"Address"`
}

// MailMessage is mailpit's summary of a received message.
type MailMessage struct {
	ID        string        `json:"ID"` // mailpit's database id
	MessageID string        `json:"MessageID"`
	From      MailAddress   `json:"From"`
	To        []MailAddress `json:"To"`
	Subject   string        `json:"Subject"`
	Created   time.Time     `json:"Created"` // when mailpit received it
	Snippet   string        `json:"Snippet"`
}

// MailDetail is one message in full.
type MailDetail struct {
	ID        string        `json:"ID"`
	MessageID string        `json:"MessageID"`
	From      MailAddress   `json:"From"`
	To        []MailAddress `json:"To"`
	Subject   string        `json:"Subject"`
	Date      time.Time     `json:"Date"`
	Text      string        `json:"Text"`
	HTML      string        `json:"HTML"`
}

// Mailpit returns the client, or fails the test (never skips it) when MAILPIT_API or SMTP_URL is
// unset or mailpit does not answer.
func Mailpit(t testing.TB) *MailpitClient {
	t.Helper()
	m := &MailpitClient{API: strings.TrimRight(os.Getenv("MAILPIT_API"), "/"), SMTPURL: os.Getenv("SMTP_URL"), t: t}
	if m.API == "" || m.SMTPURL == "" {
		t.Fatalf("testenv: MAILPIT_API and SMTP_URL must be set; %s", howToStart)
	}
	u, err := url.Parse(m.API)
	if err != nil || u.Host == "" {
		t.Fatalf("testenv: MAILPIT_API=%q is not a URL", m.API)
	}
	if err := probe(u.Host); err != nil {
		t.Fatalf("testenv: mailpit at %s does not answer (%v); %s", m.API, err, howToStart)
	}
	return m
}

// NewMailbox returns a domain of the test's own, e.g. "mb-abc123def456.test".
func (m *MailpitClient) NewMailbox() Mailbox {
	return Mailbox{Domain: UniqueID("mb-") + ".test", m: m}
}

// Address returns local@<the mailbox's domain>.
func (b Mailbox) Address(local string) string { return local + "@" + b.Domain }

// Messages lists every message addressed to the mailbox's domain, oldest first.
func (b Mailbox) Messages() []MailMessage { return b.m.Search("to:@" + b.Domain) }

// WaitFor polls until at least n messages reached the mailbox (or fails the test after timeout)
// and returns them, oldest first.
func (b Mailbox) WaitFor(n int, timeout time.Duration) []MailMessage {
	b.m.t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		msgs := b.Messages()
		if len(msgs) >= n {
			return msgs
		}
		if time.Now().After(deadline) {
			b.m.t.Fatalf("testenv: %d messages to @%s after %s, want at least %d", len(msgs), b.Domain, timeout, n)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// To lists the messages with addr among their recipients (exact match), oldest first.
func (m *MailpitClient) To(addr string) []MailMessage {
	var out []MailMessage
	for _, msg := range m.Search("to:" + addr) {
		for _, to := range msg.To {
			if strings.EqualFold(to.Address, addr) {
				out = append(out, msg)
				break
			}
		}
	}
	return out
}

// Search runs a mailpit search (https://mailpit.axllent.org/docs/usage/search-filters/) and
// returns every match, oldest first.
func (m *MailpitClient) Search(query string) []MailMessage {
	m.t.Helper()
	var all []MailMessage
	const page = 500
	for start := 0; ; start += page {
		var resp struct {
			Messages []MailMessage `json:"messages"`
		}
		m.get("/api/v1/search?query="+url.QueryEscape(query)+"&start="+strconv.Itoa(start)+"&limit="+strconv.Itoa(page), &resp)
		all = append(all, resp.Messages...)
		if len(resp.Messages) < page {
			break
		}
	}
	sort.SliceStable(all, func(i, j int) bool { return all[i].Created.Before(all[j].Created) })
	return all
}

// Message reads one message in full.
func (m *MailpitClient) Message(id string) MailDetail {
	m.t.Helper()
	var d MailDetail
	m.get("/api/v1/message/"+url.PathEscape(id), &d)
	return d
}

// Headers reads one message's headers.
func (m *MailpitClient) Headers(id string) map[string][]string {
	m.t.Helper()
	h := map[string][]string{}
	m.get("/api/v1/message/"+url.PathEscape(id)+"/headers", &h)
	return h
}

func (m *MailpitClient) get(path string, dst any) {
	m.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, m.API+path, nil)
	if err != nil {
		m.t.Fatalf("testenv: mailpit GET %s: %v", path, err)
	}
	resp, err := httpClient.Do(req)
	if err != nil {
		m.t.Fatalf("testenv: mailpit GET %s: %v", path, err)
	}
	defer func() { _ = resp.Body.Close() }()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		m.t.Fatalf("testenv: mailpit GET %s: read body: %v", path, err)
	}
	if resp.StatusCode != http.StatusOK {
		m.t.Fatalf("testenv: mailpit GET %s: HTTP %d: %s", path, resp.StatusCode, body)
	}
	if err := json.Unmarshal(body, dst); err != nil {
		m.t.Fatalf("testenv: mailpit GET %s: decode: %v (%s)", path, err, truncateForLog(body))
	}
}

func truncateForLog(b []byte) string {
	if len(b) > 300 {
		return fmt.Sprintf("%s… (%d bytes)", b[:300], len(b))
	}
	return string(b)
}
