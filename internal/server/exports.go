package server

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"strconv"

	"github.com/tenantry/tenantry/internal/export"
)

// ExportDownloads opens the archive a signed download link names (export.Service.Open).
type ExportDownloads interface {
	Open(ctx context.Context, tenantID, exportID, expires, sig string) (export.Download, error)
}

// exportDownloadHandler serves GET /exports/{tenant}/{export}?expires=…&sig=…: the link is the
// credential, so no sign-in is asked for. The access log records the path only, never the query
// that carries the signature.
func exportDownloadHandler(x ExportDownloads) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		d, err := x.Open(r.Context(), r.PathValue("tenant"), r.PathValue("export"), q.Get("expires"), q.Get("sig"))
		if err != nil {
			refuseDownload(w, r, err)
			return
		}
		defer func() { _ = d.Body.Close() }()
		h := w.Header()
		h.Set("Content-Type", "application/gzip")
		h.Set("Content-Disposition", mime.FormatMediaType("attachment", map[string]string{"filename": d.Filename}))
		h.Set("Content-Length", strconv.FormatInt(d.Size, 10))
		h.Set("Cache-Control", "private, no-store")
		h.Set("Referrer-Policy", "no-referrer")
		if _, err := io.Copy(w, d.Body); err != nil {
			slog.WarnContext(r.Context(), "an export download stopped midway", "path", r.URL.Path, "error", err.Error())
		}
	})
}

// refuseDownload answers a link that does not open: 410 when it expired or its export is gone,
// 403 when it is not genuine, 500 when the archive cannot be read now; each says what to do.
func refuseDownload(w http.ResponseWriter, r *http.Request, err error) {
	switch {
	case errors.Is(err, export.ErrLinkExpired), errors.Is(err, export.ErrExportGone):
		http.Error(w, err.Error(), http.StatusGone)
	case errors.Is(err, export.ErrLinkInvalid):
		http.Error(w, err.Error(), http.StatusForbidden)
	default:
		slog.ErrorContext(r.Context(), "cannot serve an export download", "path", r.URL.Path, "error", err.Error())
		http.Error(w, "the archive cannot be read right now; try the link again in a few minutes, or contact support", http.StatusInternalServerError)
	}
}
