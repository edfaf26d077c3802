package testenv

import (
	"net/http"
	"net/url"
	"testing"
)

// IsolatedProject returns e with a Firestore project of the test's own ("demo-" and 12 random
// characters), whose documents are deleted when the test ends. The emulator serves any project
// id, and nothing in one project is visible in another: a test that runs an outbox dispatcher
// (which claims every due entry it finds) uses one, so it never performs, or is disturbed by,
// another test's entries. Security rules are not loaded in such a project; the admin client
// bypasses them anyway. Auth stays shared (ID tokens name demo-tenantry as audience), so such a
// test calls the domain with an auth.Principal rather than the API with a token.
func (e Env) IsolatedProject(t testing.TB) Env {
	t.Helper()
	iso := e
	iso.Project = UniqueID("demo-")
	t.Cleanup(func() {
		endpoint := "http://" + iso.FirestoreHost + "/emulator/v1/projects/" + url.PathEscape(iso.Project) + "/databases/(default)/documents"
		if status, body := iso.do(t, http.MethodDelete, endpoint, "", nil); status != http.StatusOK {
			t.Logf("testenv: clear project %s: HTTP %d: %s", iso.Project, status, body)
		}
	})
	return iso
}
