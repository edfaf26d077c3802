package export

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/tenantry/tenantry/internal/errs"
)

// A download link is <BaseURL>/exports/<tenant>/<export>?expires=<unix seconds>&sig=<signature>,
// where the signature is HMAC-SHA256, under Config.SigningKey, of the tenant, the export and the
// expiry: whoever holds the link may download that one archive until it expires, and nobody can
// make one (or move its expiry) without the key. The link is the credential, as a Cloud Storage
// signed URL is; Tenantry serves the object itself, so the bucket stays private.

// Errors of a download.
var (
	// ErrLinkExpired: the link was genuine but its time is up (HTTP 410).
	ErrLinkExpired = errors.New("this download link has expired; an owner of the organization can request a new export, which comes with a new link")
	// ErrLinkInvalid: the signature does not match (a link altered or cut short; HTTP 403).
	ErrLinkInvalid = errors.New("this download link is not valid (it may have been altered or cut short); copy the whole link from the email, or request a new export")
	// ErrExportGone: the link was genuine but the export or its archive no longer exists (HTTP 410).
	ErrExportGone = errors.New("this export no longer exists; an owner of the organization can request a new export")
)

// Download is an archive being served.
type Download struct {
	Body     io.ReadCloser
	Size     int64
	Filename string
}

// signature is the link's HMAC, base64url without padding.
func (s *Service) signature(tenantID, exportID string, expires int64) string {
	mac := hmac.New(sha256.New, s.cfg.SigningKey)
	fmt.Fprintf(mac, "tenantry-export-link-v1\n%s\n%s\n%d", tenantID, exportID, expires)
	return base64.RawURLEncoding.EncodeToString(mac.Sum(nil))
}

// link is e's download link, valid until e.ExpiresAt.
func (s *Service) link(e Export) string {
	exp := e.ExpiresAt.Unix()
	q := url.Values{"expires": {strconv.FormatInt(exp, 10)}, "sig": {s.signature(e.TenantID, e.ID, exp)}}
	return strings.TrimRight(s.cfg.BaseURL, "/") + "/exports/" + url.PathEscape(e.TenantID) + "/" + url.PathEscape(e.ID) + "?" + q.Encode()
}

// DownloadURL is e's link while it works; "" before the archive is ready and after it expires.
func (s *Service) DownloadURL(e Export) string {
	if e.Status != StatusReady || !s.clock.Now().Before(e.ExpiresAt) {
		return ""
	}
	return s.link(e)
}

// Open checks a download link's signature and expiry, then opens its archive. The link alone
// authorizes the download: no sign-in, so it works from an email client.
func (s *Service) Open(ctx context.Context, tenantID, exportID, expires, sig string) (Download, error) {
	exp, err := strconv.ParseInt(expires, 10, 64)
	if err != nil || !hmac.Equal([]byte(sig), []byte(s.signature(tenantID, exportID, exp))) {
		return Download{}, ErrLinkInvalid
	}
	if !s.clock.Now().Before(time.Unix(exp, 0)) {
		return Download{}, ErrLinkExpired
	}
	e, err := s.store.Export(ctx, tenantID, exportID)
	if errors.Is(err, errs.ErrNotFound) || (err == nil && e.Status != StatusReady) {
		return Download{}, ErrExportGone
	}
	if err != nil {
		return Download{}, fmt.Errorf("read export %s of tenant %s: %w", exportID, tenantID, err)
	}
	if s.bucket == nil {
		return Download{}, errNotSetUp
	}
	// The object's name comes from the signed ids, never from the stored record: a link for one
	// tenant can open nothing outside exports/<that tenant>/.
	body, size, err := s.bucket.Open(ctx, ObjectName(tenantID, exportID))
	if errors.Is(err, errs.ErrNotFound) {
		return Download{}, ErrExportGone
	}
	if err != nil {
		return Download{}, err
	}
	return Download{Body: body, Size: size, Filename: "tenant-" + tenantID + "-export-" + exportID + ".tar.gz"}, nil
}

// Archive opens an export's archive for the staff CLI (tenantry export --out), which holds admin
// credentials and needs no link.
func (s *Service) Archive(ctx context.Context, e Export) (io.ReadCloser, error) {
	if s.bucket == nil {
		return nil, errNotSetUp
	}
	body, _, err := s.bucket.Open(ctx, ObjectName(e.TenantID, e.ID))
	return body, err
}
