package identity

import (
	"context"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
)

// GoogleCertsURL publishes the X.509 certificates (by key id) that sign Firebase ID tokens and the
// Identity Platform blocking-function event JWTs.
const GoogleCertsURL = "https://www.googleapis.com/robot/v1/metadata/x509/securetoken@system.gserviceaccount.com"

// KeySource returns the RSA public key with a given key id.
type KeySource interface {
	Key(ctx context.Context, kid string) (*rsa.PublicKey, error)
}

// GoogleKeys fetches and caches Google's certificates. They rotate: the answer's Cache-Control
// max-age says how long a set is valid, and an unknown key id triggers one refresh (at most once a
// minute, so forged key ids cannot make us hammer Google).
type GoogleKeys struct {
	URL    string       // default GoogleCertsURL
	Client *http.Client // default: 10 s timeout
	Now    func() time.Time

	mu          sync.Mutex
	keys        map[string]*rsa.PublicKey
	expires     time.Time
	lastFetched time.Time
}

// minRefetch bounds refreshes caused by unknown key ids.
const minRefetch = time.Minute

// Key implements KeySource.
func (g *GoogleKeys) Key(ctx context.Context, kid string) (*rsa.PublicKey, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	now := g.now()
	if k, ok := g.keys[kid]; ok && now.Before(g.expires) {
		return k, nil
	}
	if g.keys == nil || !now.Before(g.expires) || now.Sub(g.lastFetched) >= minRefetch {
		if err := g.fetch(ctx, now); err != nil {
			return nil, err
		}
	}
	if k, ok := g.keys[kid]; ok {
		return k, nil
	}
	return nil, fmt.Errorf("%w: no Google certificate has key id %q", errBadToken, kid)
}

func (g *GoogleKeys) now() time.Time {
	if g.Now != nil {
		return g.Now()
	}
	return time.Now()
}

func (g *GoogleKeys) fetch(ctx context.Context, now time.Time) error {
	url, client := g.URL, g.Client
	if url == "" {
		url = GoogleCertsURL
	}
	if client == nil {
		client = &http.Client{Timeout: 10 * time.Second}
	}
	g.lastFetched = now
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return fmt.Errorf("%w: %v", errKeysUnavailable, err)
	}
	resp, err := client.Do(req)
	if err != nil {
		return fmt.Errorf("%w: %v", errKeysUnavailable, err)
	}
	defer func() { _ = resp.Body.Close() }()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%w: HTTP %d from %s", errKeysUnavailable, resp.StatusCode, url)
	}
	var certs map[string]string
	if err := json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&certs); err != nil {
		return fmt.Errorf("%w: decode certificates: %v", errKeysUnavailable, err)
	}
	keys := make(map[string]*rsa.PublicKey, len(certs))
	for kid, p := range certs {
		block, _ := pem.Decode([]byte(p))
		if block == nil {
			continue
		}
		cert, err := x509.ParseCertificate(block.Bytes)
		if err != nil {
			continue
		}
		if k, ok := cert.PublicKey.(*rsa.PublicKey); ok {
			keys[kid] = k
		}
	}
	if len(keys) == 0 {
		return fmt.Errorf("%w: no RSA certificate in the answer", errKeysUnavailable)
	}
	g.keys, g.expires = keys, now.Add(maxAge(resp.Header.Get("Cache-Control")))
	return nil
}

// maxAge reads Cache-Control's max-age; one hour when absent (Google sends about six).
func maxAge(cc string) time.Duration {
	for _, part := range strings.Split(cc, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(part), "=")
		if ok && strings.EqualFold(k, "max-age") {
			if n, err := strconv.Atoi(v); err == nil && n > 0 {
				return time.Duration(n) * time.Second
			}
		}
	}
	return time.Hour
}

var (
	errBadToken        = errors.New("invalid blocking-function token")
	errKeysUnavailable = errors.New("the signing keys from Google are unavailable")
	errWrongEvent      = errors.New("wrong blocking event")
)
