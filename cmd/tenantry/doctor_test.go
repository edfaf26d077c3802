package main

import (
	"encoding/json"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tenantry/tenantry/internal/testenv"
	"github.com/tenantry/tenantry/rules"
)

// seedLinkedTenant writes a tenant with its owner and the owner's users/{uid} link: consistent.
func seedLinkedTenant(t *testing.T, env testenv.Env) testenv.Tenant {
	t.Helper()
	fs := env.Firestore(t)
	uid := testenv.UniqueID("u")
	tn := testenv.Tenant{ID: testenv.UniqueID("cli"), Members: []testenv.Member{{UID: uid, Role: rules.RoleOwner}}}
	testenv.SeedTenants(t, fs, tn)
	testenv.WriteDocs(t, fs, map[string]map[string]any{"users/" + uid: {"email": uid + "@example.test", "tenantIds": []string{tn.ID}}})
	return tn
}

// doctorJSON runs `tenantry doctor --json` with args and decodes its report, holding it to the
// exact shape other tools parse.
func doctorJSON(t *testing.T, args ...string) (int, map[string]any) {
	t.Helper()
	code, out, errs := runCLI(append([]string{"doctor", "--json"}, args...)...)
	var report map[string]any
	if err := json.Unmarshal([]byte(out), &report); err != nil {
		t.Fatalf("doctor --json: exit %d, stdout is not JSON (%v):\n%s\nstderr:\n%s", code, err, out, errs)
	}
	if keys := slices.Sorted(maps.Keys(report)); !slices.Equal(keys, []string{"clean", "findings", "scanned"}) {
		t.Fatalf("report keys %v", keys)
	}
	for _, f := range report["findings"].([]any) {
		if keys := slices.Sorted(maps.Keys(f.(map[string]any))); !slices.Equal(keys, []string{"detail", "kind", "path", "repaired"}) {
			t.Fatalf("finding keys %v", keys)
		}
	}
	if _, ok := report["clean"].(bool); !ok {
		t.Fatalf("clean is %T", report["clean"])
	}
	if errs != "" {
		t.Errorf("--json printed on stderr (no progress expected):\n%s", errs)
	}
	return code, report
}

func TestDoctorCLI(t *testing.T) {
	env, _, _ := cliEnv(t)
	tn := seedLinkedTenant(t, env)

	code, report := doctorJSON(t, "--tenant", tn.ID)
	if code != 0 || report["clean"] != true || report["scanned"].(map[string]any)["tenants"] != float64(1) {
		t.Fatalf("a consistent tenant: exit %d, %v", code, report)
	}

	testenv.UpdateDoc(t, env.Firestore(t), tn.Path(), map[string]any{"seatsUsed": 4})
	code, report = doctorJSON(t, "--tenant", tn.ID)
	findings := report["findings"].([]any)
	if code != 1 || report["clean"] != false || len(findings) != 1 {
		t.Fatalf("seatsUsed off: exit %d, %v", code, report)
	}
	if f := findings[0].(map[string]any); f["kind"] != "seats-used-mismatch" || f["path"] != tn.Path() || f["repaired"] != false {
		t.Fatalf("finding %v", f)
	}

	code, out, errs := runCLI("doctor", "--tenant", tn.ID)
	if code != 1 || !strings.Contains(out, "seats-used-mismatch (1)") || !strings.Contains(out, "what to do: ") ||
		!strings.Contains(out, tn.Path()+": seatsUsed is 4") || !strings.Contains(out, "--repair") {
		t.Fatalf("human report: exit %d\nstdout:\n%s\nstderr:\n%s", code, out, errs)
	}

	code, report = doctorJSON(t, "--repair", "--tenant", tn.ID)
	if code != 0 || report["clean"] != true || report["findings"].([]any)[0].(map[string]any)["repaired"] != true {
		t.Fatalf("--repair: exit %d, %v", code, report)
	}
	if code, report = doctorJSON(t, "--tenant", tn.ID); code != 0 || len(report["findings"].([]any)) != 0 {
		t.Fatalf("after the repair: exit %d, %v", code, report)
	}
}

func TestDoctorCLIExitsTwoWhenItCannotScan(t *testing.T) {
	cliEnv(t)
	if code, _, errs := runCLI("doctor", "--tenant"); code != 2 || !strings.Contains(errs, "usage: tenantry doctor") {
		t.Fatalf("a bad flag: exit %d: %s", code, errs)
	}
	t.Setenv("FIRESTORE_EMULATOR_HOST", "127.0.0.1:1")
	defer func(d time.Duration) { doctorConnectTimeout = d }(doctorConnectTimeout)
	doctorConnectTimeout = time.Second
	code, out, errs := runCLI("doctor", "--json")
	if code != 2 || out != "" || !strings.Contains(errs, "cannot reach Firestore") {
		t.Fatalf("Firestore unreachable: exit %d\nstdout:\n%s\nstderr:\n%s", code, out, errs)
	}
}

// The job reports counts by kind and never a path: paths name users and tenants.
func TestDoctorJob(t *testing.T) {
	env, _, _ := cliEnv(t)
	t.Setenv("TENANTRY_LOG_LEVEL", "info") // the job's log line is checked too
	tn := seedLinkedTenant(t, env)
	testenv.UpdateDoc(t, env.Firestore(t), tn.Path()+"/members/"+tn.Members[0].UID, map[string]any{"role": "admin"})
	code, out, errs := runCLI("jobs", "run", "doctor")
	if code != 0 || !strings.Contains(out, "owner-count 1") || !strings.Contains(errs, `"owner-count":1`) {
		t.Fatalf("jobs run doctor: exit %d\nstdout:\n%s\nstderr:\n%s", code, out, errs)
	}
	if strings.Contains(out+errs, tn.ID) || strings.Contains(out+errs, tn.Members[0].UID) {
		t.Errorf("the job printed a tenant id or a uid:\n%s\n%s", out, errs)
	}
}
