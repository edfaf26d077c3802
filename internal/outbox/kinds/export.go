package kinds

import (
	"time"

	"github.com/tenantry/tenantry/internal/outbox"
)

// ExportRun builds a tenant's export archive (package export), written by exportTenant in the
// commit that creates the export's record. Stored as {"tenantId", "exportId"}.
type ExportRun struct {
	ExportID string
}

// Kind implements Payload.
func (ExportRun) Kind() string { return "export.run" }

func (p ExportRun) encode(tenantID string) map[string]any {
	return map[string]any{"tenantId": tenantID, "exportId": p.ExportID}
}

func (ExportRun) decode(s map[string]any) ExportRun { return ExportRun{ExportID: str(s, "exportId")} }

// ExportReadyEmail sends the owners an export's download link, written in the commit that marks
// the export ready. Stored as {"tenantId", "exportId", "expiresAt", "secret": {"url"}}.
//
// The link is signed, and anyone holding it may download the archive until it expires, so it
// sits under outbox.SecretField, which the outbox store deletes when the entry settles.
type ExportReadyEmail struct {
	ExportID  string
	URL       string
	ExpiresAt time.Time
}

// Kind implements Payload.
func (ExportReadyEmail) Kind() string { return "email.export_ready" }

func (p ExportReadyEmail) encode(tenantID string) map[string]any {
	return map[string]any{
		"tenantId": tenantID, "exportId": p.ExportID, "expiresAt": p.ExpiresAt,
		outbox.SecretField: map[string]any{"url": p.URL},
	}
}

func (ExportReadyEmail) decode(s map[string]any) ExportReadyEmail {
	secret, _ := s[outbox.SecretField].(map[string]any)
	return ExportReadyEmail{ExportID: str(s, "exportId"), URL: str(secret, "url"), ExpiresAt: timeOf(s, "expiresAt")}
}
