package tests

import (
	"archive/tar"
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"math"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/tenantry/tenantry/internal/app"
	"github.com/tenantry/tenantry/internal/auth"
	"github.com/tenantry/tenantry/internal/clock"
	"github.com/tenantry/tenantry/internal/config"
	"github.com/tenantry/tenantry/internal/export"
	"github.com/tenantry/tenantry/internal/outbox/kinds"
	"github.com/tenantry/tenantry/internal/tenancy"
	"github.com/tenantry/tenantry/internal/testenv"
)

// exportApp is an app in a Firestore project of its own (its outbox pass performs every due entry
// of the project), on a manual clock, with SMTP to mailpit and the exports' bucket in the Cloud
// Storage emulator.
type exportApp struct {
	s      *testServer
	clk    *clock.Manual
	box    testenv.Mailbox
	mp     *testenv.MailpitClient
	bucket string
	host   string
}

func newExportApp(t *testing.T) exportApp {
	t.Helper()
	host, bucket := testenv.Storage(t)
	iso := emulators(t).IsolatedProject(t)
	mp := testenv.Mailpit(t)
	clk := clock.NewManual(time.Now())
	s := newServer(t, func(c *config.Config) {
		c.Project, c.SMTPURL, c.StripeSecretKey, c.ExportBucket = iso.Project, mp.SMTPURL, "", bucket
		// A handler has half the lease; walking 5,000 documents on a busy emulator can take a
		// minute, which the default (2m) would cut short.
		c.OutboxLease = 10 * time.Minute
		// Events on, to an address nobody listens on: their entries stay pending, to be read.
		c.EventsURL, c.EventsSecret = "http://127.0.0.1:9/events", "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
	}, app.Options{Clock: clk})
	return exportApp{s: s, clk: clk, box: mp.NewMailbox(), mp: mp, bucket: bucket, host: host}
}

// owner provisions a tenant through the domain and returns its id and the owner's context.
func (x exportApp) owner(t *testing.T) (string, context.Context) {
	t.Helper()
	p := auth.Principal{UID: testenv.UniqueID("owner-"), Email: x.box.Address("owner"), EmailVerified: true}
	ctx := auth.WithPrincipal(context.Background(), p)
	res, err := x.s.App.Tenancy.ProvisionSelfServe(ctx, tenancy.SelfServeInput{IdempotencyKey: uniqueKey(), OrganizationName: "Export Org"})
	if err != nil {
		t.Fatal(err)
	}
	return res.Tenant.ID, ctx
}

func (x exportApp) pass(t *testing.T) {
	t.Helper()
	if _, err := x.s.App.Outbox.RunPass(context.Background(), nil); err != nil {
		t.Fatal(err)
	}
}

// objects lists the bucket's objects under prefix, through the emulator's JSON API.
func (x exportApp) objects(t *testing.T, prefix string) []string {
	t.Helper()
	resp, err := http.Get("http://" + x.host + "/storage/v1/b/" + x.bucket + "/o?prefix=" + url.QueryEscape(prefix))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var list struct {
		Items []struct {
			Name string `json:"name"`
		} `json:"items"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&list); err != nil {
		t.Fatalf("list objects: HTTP %d: %v", resp.StatusCode, err)
	}
	var out []string
	for _, it := range list.Items {
		out = append(out, it.Name)
	}
	return out
}

// download GETs a download link from the test server (links start with TENANTRY_PUBLIC_URL, which
// the test server does not listen on): its status and body.
func (x exportApp) download(t *testing.T, link string) (*http.Response, []byte) {
	t.Helper()
	u, err := url.Parse(link)
	if err != nil || u.Path == "" {
		t.Fatalf("download link %q", link)
	}
	return x.s.do(t, http.MethodGet, u.RequestURI(), nil, nil)
}

// seedAppData writes n documents spread over four collections under the tenant, one of them a
// subcollection, in bulk; it returns a marker that only the excluded documents carry.
func seedAppData(t *testing.T, x exportApp, tenantID string, n int) string {
	t.Helper()
	docs := map[string]map[string]any{}
	root := "tenants/" + tenantID
	for i := range n {
		switch i % 4 {
		case 0:
			docs[fmt.Sprintf("%s/clients/c%05d", root, i)] = map[string]any{"name": fmt.Sprintf("Client %d", i), "since": time.Unix(int64(i), 0)}
		case 1:
			docs[fmt.Sprintf("%s/clients/c%05d/notes/n%05d", root, i-1, i)] = map[string]any{"text": "note", "client": x.s.App.Firestore().Doc(fmt.Sprintf("%s/clients/c%05d", root, i-1))}
		case 2:
			docs[fmt.Sprintf("%s/appointments/a%05d", root, i)] = map[string]any{"at": time.Unix(int64(i), 0), "tags": []any{"a", int64(i)}}
		case 3:
			docs[fmt.Sprintf("%s/invoices/i%05d", root, i)] = map[string]any{"amount": int64(i), "paid": i%2 == 0, "ratio": math.Inf(1)}
		}
	}
	marker := testenv.UniqueID("secret-")
	docs[root+"/private/staff"] = map[string]any{"contractReference": marker}
	docs[root+"/invitations/inv1"] = map[string]any{"email": "x@example.test", "role": "member", "status": "pending", "tokenHash": marker}
	testenv.WriteDocs(t, x.s.App.Firestore(), docs)
	return marker
}

// untar reads a tar.gz: each file's lines.
func untar(t *testing.T, archive []byte) map[string][][]byte {
	t.Helper()
	gz, err := gzip.NewReader(bytes.NewReader(archive))
	if err != nil {
		t.Fatalf("the archive is not gzip: %v", err)
	}
	tr := tar.NewReader(gz)
	files := map[string][][]byte{}
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			return files
		}
		if err != nil {
			t.Fatalf("the archive is not a tar: %v", err)
		}
		sc := bufio.NewScanner(tr)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		files[hdr.Name] = [][]byte{}
		for sc.Scan() {
			files[hdr.Name] = append(files[hdr.Name], append([]byte(nil), sc.Bytes()...))
		}
		if err := sc.Err(); err != nil {
			t.Fatalf("read %s: %v", hdr.Name, err)
		}
	}
}

var exportLink = regexp.MustCompile(`https?://\S+/exports/\S+sig=[A-Za-z0-9_-]+`)

// The Must show of issue 16 item 1: a tenant with 5,000 documents in 4 collections is exported
// through the outbox; the archive, downloaded over HTTP through the link that was mailed, holds
// exactly what the database holds (per collection path), nothing excluded, and the link expires.
func TestExportOf5000DocumentsMatchesTheDatabase(t *testing.T) {
	t.Parallel()
	x := newExportApp(t)
	tenantID, owner := x.owner(t)
	marker := seedAppData(t, x, tenantID, 5000)

	e, err := x.s.App.Export.Request(owner, tenantID)
	if err != nil || e.Status != export.StatusPending {
		t.Fatalf("exportTenant: %+v, %v", e, err)
	}
	if again, err := x.s.App.Export.Request(owner, tenantID); err != nil || again.ID != e.ID {
		t.Fatalf("a retried request started another export: %s then %s (%v)", e.ID, again.ID, err)
	}
	x.pass(t) // builds the archive
	x.pass(t) // sends the email the first pass wrote
	list, err := x.s.App.Export.List(owner, tenantID)
	if err != nil || len(list) != 1 || list[0].Status != export.StatusReady {
		t.Fatalf("Tenant.exports: %+v, %v; want one READY export", list, err)
	}
	ready := list[0]
	link := x.s.App.Export.DownloadURL(ready)

	mails := x.box.WaitFor(1, 10*time.Second)
	mailed := exportLink.FindString(x.mp.Message(mails[len(mails)-1].ID).Text)
	if mailed != link {
		t.Fatalf("the email carries %q, Tenant.exports %q", mailed, link)
	}
	resp, body := x.download(t, link)
	if resp.StatusCode != http.StatusOK || !strings.Contains(resp.Header.Get("Content-Disposition"), "attachment") {
		t.Fatalf("download: HTTP %d, Content-Disposition %q: %.300s", resp.StatusCode, resp.Header.Get("Content-Disposition"), body)
	}
	files := untar(t, body)
	for name, lines := range files {
		if bytes.Contains(bytes.Join(lines, nil), []byte(marker)) {
			t.Errorf("%s holds a secret (an invitation's tokenHash or the staff record)", name)
		}
	}
	checkArchiveCounts(t, x, tenantID, files, ready)

	x.clk.Advance(24*time.Hour + time.Second)
	resp, body = x.download(t, link)
	if resp.StatusCode != http.StatusGone || !strings.Contains(string(body), "request a new export") {
		t.Errorf("an expired link: HTTP %d %q, want 410 saying to request a new export", resp.StatusCode, body)
	}
	if x.s.App.Export.DownloadURL(ready) != "" {
		t.Error("Tenant.exports still offers the expired link")
	}
}

// checkArchiveCounts compares the lines of every NDJSON file with the documents under the tenant
// (testenv.CountTree), less the tenant document and the excluded collections, and the manifest.
func checkArchiveCounts(t *testing.T, x exportApp, tenantID string, files map[string][][]byte, e export.Export) {
	t.Helper()
	want := testenv.CountTree(t, x.s.App.Firestore(), "tenants/"+tenantID)
	delete(want, "")
	delete(want, "private")
	delete(want, "exports")
	got := map[string]int{}
	for name, lines := range files {
		if c, ok := strings.CutSuffix(name, ".ndjson"); ok {
			got[c] = len(lines)
		}
	}
	if !maps.Equal(got, want) || !maps.Equal(e.Counts, want) {
		t.Errorf("archive lines per collection %v, record's counts %v; the database holds %v", got, e.Counts, want)
	}
	if got["clients"]+got["clients/notes"]+got["appointments"]+got["invoices"] != 5000 {
		t.Errorf("the four seeded collections hold %d documents in the archive, want 5000", testenv.Total(got))
	}
	var m export.Manifest
	if len(files["manifest.json"]) == 0 || json.Unmarshal(bytes.Join(files["manifest.json"], nil), &m) != nil {
		t.Fatal("no readable manifest.json")
	}
	if !maps.Equal(m.Counts, want) || m.Tenant["name"] != "Export Org" || len(m.Excluded) == 0 {
		t.Errorf("manifest: counts %v, tenant %v, excluded %v", m.Counts, m.Tenant, m.Excluded)
	}
	var inv map[string]any
	if err := json.Unmarshal(files["invitations.ndjson"][0], &inv); err != nil || inv["data"].(map[string]any)["email"] == nil {
		t.Errorf("invitations.ndjson: %s (%v)", files["invitations.ndjson"][0], err)
	}
}

// A download link opens only as it was signed: an altered signature, a moved expiry or another
// export's id is refused with 403. A retried run (the archive written, the commit that marks it
// ready lost) writes the same object again, and a tenant gone before its export ran leaves the
// export FAILED with a reason.
func TestExportLinkRefusesTamperingAndARetryKeepsOneObject(t *testing.T) {
	t.Parallel()
	x := newExportApp(t)
	tenantID, owner := x.owner(t)
	e, err := x.s.App.Export.Request(owner, tenantID)
	if err != nil {
		t.Fatal(err)
	}
	x.pass(t)
	ready, err := x.s.App.Firestore().Doc("tenants/" + tenantID + "/exports/" + e.ID).Get(context.Background())
	if err != nil || ready.Data()["status"] != "ready" {
		t.Fatalf("export record: %v, %v", ready.Data(), err)
	}
	list, _ := x.s.App.Export.List(owner, tenantID)
	link := x.s.App.Export.DownloadURL(list[0])
	events, err := x.s.App.Firestore().Collection("outbox").Where("tenantId", "==", tenantID).Where("payload.type", "==", "export.ready").Documents(context.Background()).GetAll()
	if err != nil || len(events) != 1 || !strings.Contains(fmt.Sprint(events[0].Data()["payload"]), e.ID) || strings.Contains(fmt.Sprint(events[0].Data()), "sig=") {
		t.Errorf("export.ready events: %d (%v); want one naming the export, without the link", len(events), err)
	}
	if resp, _ := x.download(t, link); resp.StatusCode != http.StatusOK {
		t.Fatalf("the genuine link: HTTP %d", resp.StatusCode)
	}
	u, _ := url.Parse(link)
	q := u.Query()
	sig, exp := q.Get("sig"), q.Get("expires")
	for name, tampered := range map[string]string{
		"signature":  strings.Replace(link, "sig="+sig, "sig="+flipLast(sig), 1),
		"expiry":     strings.Replace(link, "expires="+exp, "expires="+fmt.Sprint(list[0].ExpiresAt.Add(24*time.Hour).Unix()), 1),
		"export id":  strings.Replace(link, "/"+e.ID+"?", "/"+flipLast(e.ID)+"?", 1),
		"no expires": strings.Replace(link, "expires="+exp+"&", "", 1),
	} {
		resp, body := x.download(t, tampered)
		if resp.StatusCode != http.StatusForbidden || !strings.Contains(string(body), "request a new export") {
			t.Errorf("a link with another %s: HTTP %d %q, want 403 saying to request a new export", name, resp.StatusCode, body)
		}
	}

	// The commit that marked it ready (and wrote the email) is lost: the handler runs again.
	testenv.UpdateDoc(t, x.s.App.Firestore(), "tenants/"+tenantID+"/exports/"+e.ID, map[string]any{"status": "pending"})
	mail := kinds.ID(kinds.ExportReadyEmail{}, tenantID+"-"+e.ID)
	if _, err := x.s.App.Firestore().Collection("outbox").Doc(mail).Delete(context.Background()); err != nil {
		t.Fatal(err)
	}
	again, err := x.s.App.Export.Run(context.Background(), tenantID, e.ID, nil)
	if err != nil || again.Status != export.StatusReady {
		t.Fatalf("rerun: %+v, %v", again, err)
	}
	if objs := x.objects(t, "exports/"+tenantID+"/"); len(objs) != 1 || objs[0] != export.ObjectName(tenantID, e.ID) {
		t.Errorf("objects after a rerun: %v, want only %s", objs, export.ObjectName(tenantID, e.ID))
	}
	if resp, _ := x.download(t, x.s.App.Export.DownloadURL(again)); resp.StatusCode != http.StatusOK {
		t.Errorf("the rerun's link: HTTP %d", resp.StatusCode)
	}

	gone, err := x.s.App.Export.Request(owner, tenantID)
	if err != nil || gone.ID == e.ID {
		t.Fatalf("a new export once the first is ready: %+v, %v", gone, err)
	}
	if _, err := x.s.App.Firestore().Doc("tenants/" + tenantID).Delete(context.Background()); err != nil {
		t.Fatal(err)
	}
	x.pass(t)
	failed, err := x.s.App.Firestore().Doc("tenants/" + tenantID + "/exports/" + gone.ID).Get(context.Background())
	if err != nil || failed.Data()["status"] != "failed" || !strings.Contains(fmt.Sprint(failed.Data()["failure"]), "no longer exists") {
		t.Errorf("the export of a tenant gone before it ran: %v, %v; want failed, saying why", failed.Data(), err)
	}
}

// flipLast changes the last character of s.
func flipLast(s string) string {
	if strings.HasSuffix(s, "A") {
		return s[:len(s)-1] + "B"
	}
	return s[:len(s)-1] + "A"
}

const exportMutation = `mutation($t: ID!) { exportTenant(tenantId: $t) { id status downloadUrl counts { collection count } } }`

// exportTenant and Tenant.exports over HTTP: owners and super admins or support may export; a
// member is FORBIDDEN, an owner of another tenant gets NOT_FOUND, sales is FORBIDDEN; a repeated
// request while one runs returns the running export.
func TestExportTenantAPI(t *testing.T) {
	testenv.Storage(t)
	s := shared(t)
	owner := verifiedUser(t, "")
	tenantID := s.mustProvision(t, owner.IDToken, provisionInput(uniqueKey(), "Export API", "", "")).Tenant.ID
	member := join(t, s, owner.IDToken, tenantID, "MEMBER")
	stranger := verifiedUser(t, "")
	s.mustProvision(t, stranger.IDToken, provisionInput(uniqueKey(), "Other Org", "", ""))
	vars := map[string]any{"t": tenantID}

	_, _, errs := s.gql(t, member.IDToken, exportMutation, vars)
	wantCode(t, errs, "FORBIDDEN", "")
	_, _, errs = s.gql(t, stranger.IDToken, exportMutation, vars)
	wantCode(t, errs, "NOT_FOUND", "")
	_, _, errs = s.gql(t, staffUser(t, "sales").IDToken, exportMutation, vars)
	wantCode(t, errs, "FORBIDDEN", "")

	var first, second struct {
		ExportTenant struct {
			ID          string  `json:"id"`
			Status      string  `json:"status"`
			DownloadURL *string `json:"downloadUrl"`
		} `json:"exportTenant"`
	}
	status, data, errs := s.gql(t, owner.IDToken, exportMutation, vars)
	mustData(t, status, data, errs, &first)
	status, data, errs = s.gql(t, staffUser(t, "support").IDToken, exportMutation, vars)
	mustData(t, status, data, errs, &second)
	if first.ExportTenant.Status != "PENDING" || first.ExportTenant.DownloadURL != nil || second.ExportTenant.ID != first.ExportTenant.ID {
		t.Errorf("owner then support: %+v then %+v; want one PENDING export without a link", first, second)
	}
	list := `query($t: ID!) { tenant(id: $t) { exports { id status requestedAt } } }`
	var got struct {
		Tenant struct {
			Exports []struct {
				ID     string `json:"id"`
				Status string `json:"status"`
			} `json:"exports"`
		} `json:"tenant"`
	}
	status, data, errs = s.gql(t, owner.IDToken, list, vars)
	mustData(t, status, data, errs, &got)
	if len(got.Tenant.Exports) != 1 || got.Tenant.Exports[0].ID != first.ExportTenant.ID {
		t.Errorf("Tenant.exports: %+v, want the one export", got.Tenant.Exports)
	}
	_, _, errs = s.gql(t, member.IDToken, list, vars)
	wantCode(t, errs, "FORBIDDEN", "")
}
