package outbox

import "regexp"

// Secrets can reach an error message through a URL with credentials (a dial error that quotes
// smtp://user:pass@host) or an API key echoed back by a server. LastError is shown to operators
// and stored in Firestore, so Redact removes both shapes before anything is recorded.
var (
	urlUserinfo = regexp.MustCompile(`([a-zA-Z][a-zA-Z0-9+.-]*://)[^/@\s]+@`)
	apiKey      = regexp.MustCompile(`\b(sk|rk|pk|whsec)_(live|test)_[A-Za-z0-9]+`)
	bearer      = regexp.MustCompile(`(?i)(bearer|basic)\s+[A-Za-z0-9._~+/=-]+`)
)

// Redact masks credentials in s.
func Redact(s string) string {
	s = urlUserinfo.ReplaceAllString(s, "${1}***@")
	s = apiKey.ReplaceAllString(s, "${1}_${2}_***")
	return bearer.ReplaceAllString(s, "${1} ***")
}
