// Package doctor checks the invariants Tenantry's transactions keep across documents, and repairs
// the ones that are safe to repair. It reads every tenant page by page (its members, invitations
// and history streamed, never held whole) and the top-level documents that name tenants
// (idempotency records, subdomain and domain claims, billing records, outbox entries, user links),
// and reports each broken invariant with the path of the document to look at.
//
// Repairs (Options.Repair) touch only what the documents themselves settle: the counters a tenant
// keeps of its members and pending invitations, and the users/{uid} links of memberships. Each is
// decided again inside its own transaction on fresh reads, so a change racing the repair (an
// invitation, an acceptance) is never overwritten, and each is audited in the tenant's log. An
// owner count, a history or a billing record is never "repaired": they need a person to decide.
//
// The package knows nothing of Firestore; a Store reads and writes (see store.go).
package doctor

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/tenantry/tenantry/internal/clock"
)

// Kind names one broken invariant, in kebab-case (the JSON report's "kind").
type Kind string

// The kinds of breakage the doctor finds; docs/operations.md says what each means and what to do.
const (
	KindOwnerCount         Kind = "owner-count"                       // a tenant without exactly one owner
	KindSeatsUsed          Kind = "seats-used-mismatch"               // seatsUsed is not the number of members (repairable)
	KindPendingInvitations Kind = "pending-invitations-mismatch"      // pendingInvitations is not the number of pending invitations (repairable)
	KindMissingUserLink    Kind = "member-without-user-link"          // users/{uid}.tenantIds lacks a tenant the user is a member of (repairable)
	KindDanglingUserLink   Kind = "user-link-without-member"          // users/{uid}.tenantIds names a tenant without that membership (repairable)
	KindOrphanIdempotency  Kind = "idempotency-record-without-tenant" // an idempotency record names no existing tenant
	KindBillingPending     Kind = "billing-pending-too-long"          // a billing record still pending past Config.BillingPendingFor
	KindOutboxDead         Kind = "outbox-dead-lettered"              // an outbox entry gave up
	KindOutboxStuck        Kind = "outbox-stuck"                      // a pending outbox entry overdue by more than Config.OutboxStuckFor
	KindSubdomainClaim     Kind = "subdomain-claim-without-tenant"    // subdomains/{s} names a tenant that is missing or holds another subdomain
	KindSubdomainUnclaimed Kind = "tenant-subdomain-unclaimed"        // a tenant's subdomain is not claimed for it
	KindDomainClaim        Kind = "domain-claim-without-tenant"       // domainClaims/{d} names a missing tenant
	KindStatusHistory      Kind = "status-history-mismatch"           // the history does not replay to the tenant's status
)

// Audit actions of the repairs, written to the tenant's audit log.
const (
	AuditCountersRepaired = "tenant.counters_repaired"
	AuditUserLinkRepaired = "member.user_link_repaired"
)

// Actor is who the audit entries of repairs name (tenancy.Actor.System).
const Actor = "doctor"

// Finding is one broken invariant.
type Finding struct {
	Kind     Kind   `json:"kind"`
	Path     string `json:"path"`   // the document to look at
	Detail   string `json:"detail"` // what is wrong, in words
	Repaired bool   `json:"repaired"`
}

// Report is what a scan found; its JSON form is the machine interface of `tenantry doctor --json`.
type Report struct {
	// Clean is true when nothing is left unrepaired.
	Clean    bool      `json:"clean"`
	Findings []Finding `json:"findings"`
	// Scanned counts the documents read, by kind ("tenants", "members", …).
	Scanned map[string]int `json:"scanned"`
}

// CountsByKind counts the findings left unrepaired, by kind.
func (r Report) CountsByKind() map[Kind]int {
	out := map[Kind]int{}
	for _, f := range r.Findings {
		if !f.Repaired {
			out[f.Kind]++
		}
	}
	return out
}

// Summary is one line without any document path or personal data, for logs and the job.
func (r Report) Summary() string {
	scanned := fmt.Sprintf("%d tenants", r.Scanned[ScannedTenants])
	if r.Clean {
		return "clean: " + scanned + " scanned" + repairedNote(r)
	}
	counts := r.CountsByKind()
	parts := make([]string, 0, len(counts))
	for _, k := range slices.Sorted(maps.Keys(counts)) {
		parts = append(parts, fmt.Sprintf("%s %d", k, counts[k]))
	}
	return fmt.Sprintf("%d broken invariants in %s scanned (%s)%s; run `tenantry doctor` for the paths",
		len(r.Findings)-repairedCount(r), scanned, strings.Join(parts, ", "), repairedNote(r))
}

func repairedCount(r Report) int {
	n := 0
	for _, f := range r.Findings {
		if f.Repaired {
			n++
		}
	}
	return n
}

func repairedNote(r Report) string {
	if n := repairedCount(r); n > 0 {
		return fmt.Sprintf(", %d repaired", n)
	}
	return ""
}

// Keys of Report.Scanned.
const (
	ScannedTenants     = "tenants"
	ScannedMembers     = "members"
	ScannedHistory     = "historyEntries"
	ScannedUserLinks   = "userLinks"
	ScannedIdempotency = "idempotencyRecords"
	ScannedSubdomains  = "subdomainClaims"
	ScannedDomains     = "domainClaims"
	ScannedBilling     = "billingRecords"
	ScannedOutbox      = "outboxEntries"
)

// Config holds the thresholds of the time-based checks.
type Config struct {
	// BillingPendingFor is how long a billing record may stay pending (its Stripe setup not run).
	BillingPendingFor time.Duration
	// OutboxStuckFor is how long past its due time a pending outbox entry may wait (a lease
	// expired, or no dispatcher running) before it is reported stuck.
	OutboxStuckFor time.Duration
	// PageSize bounds every page read (default 200): the scan holds at most a page of each kind.
	PageSize int
	// Workers is how many tenants of a page are checked at once (default 8). A tenant's check is
	// a handful of round trips that wait on Firestore, not on this process, so checking them one
	// after another leaves a scan of thousands of tenants waiting for minutes.
	Workers int
}

// Options shape one scan.
type Options struct {
	// TenantIDs limits the scan to these tenants and the documents that name them; empty: all.
	TenantIDs []string
	Repair    bool
	// Progress, when set, is told of each page read: what is being scanned and how many
	// documents of it were read so far.
	Progress func(phase string, done int)
}

// Service runs scans.
type Service struct {
	store Store
	clock clock.Clock
	cfg   Config
}

// NewService returns a doctor over store.
func NewService(store Store, clk clock.Clock, cfg Config) *Service {
	if cfg.PageSize <= 0 {
		cfg.PageSize = 200
	}
	if cfg.Workers <= 0 {
		cfg.Workers = 8
	}
	if cfg.BillingPendingFor <= 0 {
		cfg.BillingPendingFor = time.Hour
	}
	if cfg.OutboxStuckFor <= 0 {
		cfg.OutboxStuckFor = 30 * time.Minute
	}
	return &Service{store: store, clock: clk, cfg: cfg}
}

// Scan checks every invariant and, with opts.Repair, repairs what is safe. An error means the scan
// could not finish (Firestore unreachable, ctx cancelled); the report then holds what was found.
func (s *Service) Scan(ctx context.Context, opts Options) (Report, error) {
	sc := &scan{s: s, opts: opts, now: s.clock.Now(), runID: Actor + "-" + rand.Text()[:12],
		report: Report{Findings: []Finding{}, Scanned: map[string]int{}}}
	err := sc.run(ctx)
	sortFindings(sc.report.Findings)
	sc.report.Clean = repairedCount(sc.report) == len(sc.report.Findings)
	if err != nil {
		return sc.report, fmt.Errorf("doctor: %w", err)
	}
	return sc.report, nil
}

// sortFindings puts findings in a stable order (by path, then kind), whatever order the tenants'
// checks finished in.
func sortFindings(fs []Finding) {
	slices.SortStableFunc(fs, func(a, b Finding) int {
		if c := strings.Compare(a.Path, b.Path); c != 0 {
			return c
		}
		return strings.Compare(string(a.Kind), string(b.Kind))
	})
}

// scan is one run's state. Tenants are checked concurrently, so mu guards report (and the
// Progress calls, which therefore never overlap).
type scan struct {
	s      *Service
	opts   Options
	now    time.Time
	runID  string // the request id of the run's audit entries
	mu     sync.Mutex
	report Report
}

func (sc *scan) run(ctx context.Context) error {
	if len(sc.opts.TenantIDs) == 0 {
		if err := sc.allTenants(ctx); err != nil {
			return err
		}
		return sc.references(ctx, "")
	}
	for _, id := range sc.opts.TenantIDs {
		if err := sc.namedTenant(ctx, id); err != nil {
			return err
		}
		if err := sc.references(ctx, id); err != nil {
			return err
		}
	}
	return nil
}

// find records a finding and returns its index in the report (for repaired).
func (sc *scan) find(kind Kind, path, format string, args ...any) int {
	sc.mu.Lock()
	defer sc.mu.Unlock()
	sc.report.Findings = append(sc.report.Findings, Finding{Kind: kind, Path: path, Detail: fmt.Sprintf(format, args...)})
	return len(sc.report.Findings) - 1
}

// repaired marks the findings at indexes repaired.
func (sc *scan) repaired(indexes ...int) {
	sc.mu.Lock()
	defer sc.mu.Unlock()
	for _, i := range indexes {
		sc.report.Findings[i].Repaired = true
	}
}

// scanned counts n documents of a kind and reports progress.
func (sc *scan) scanned(key string, n int) {
	sc.mu.Lock()
	defer sc.mu.Unlock()
	sc.report.Scanned[key] += n
	if sc.opts.Progress != nil && n > 0 {
		sc.opts.Progress(key, sc.report.Scanned[key])
	}
}

// errNothingToRepair tells a Store's repair transaction to commit nothing: a re-check on fresh
// reads found the invariant holding (something else fixed it meanwhile).
var errNothingToRepair = errors.New("doctor: nothing to repair")

// NothingToRepair reports whether err is the "commit nothing" signal (stores use it).
func NothingToRepair(err error) bool { return errors.Is(err, errNothingToRepair) }

// advice says, for each kind, what it means and what to do (docs/operations.md says the same).
var advice = map[Kind]string{
	KindOwnerCount:         "a tenant must have exactly one owner; decide who owns it with the customer and set the roles by hand (never repaired automatically)",
	KindSeatsUsed:          "seatsUsed is not the number of member documents; `tenantry doctor --repair` recounts it",
	KindPendingInvitations: "pendingInvitations is not the number of pending invitations; `tenantry doctor --repair` recounts it",
	KindMissingUserLink:    "a member's users/{uid}.tenantIds lacks the tenant, so the organization is missing from their list; `--repair` adds it",
	KindDanglingUserLink:   "users/{uid}.tenantIds names a tenant the user is not a member of; `--repair` removes it",
	KindOrphanIdempotency:  "a replay of the call would fail; delete the record if the tenant was removed on purpose (the purge job also drops it at its expiry)",
	KindBillingPending:     "the tenant has no Stripe customer or subscription; check its billing-setup outbox entry (`tenantry jobs outbox-status`) and Stripe",
	KindOutboxDead:         "a side effect gave up; read its last error with `tenantry jobs outbox-status`, fix the cause, then `tenantry jobs outbox-retry ID`",
	KindOutboxStuck:        "no dispatcher has run this entry; check that a dispatcher runs (`tenantry serve` with TENANTRY_DISPATCHER=on, or the outbox job)",
	KindSubdomainClaim:     "the claim keeps the subdomain from everyone else; delete it if its tenant is gone or holds another subdomain",
	KindSubdomainUnclaimed: "another tenant could claim this subdomain; create the claim for this tenant, or clear its subdomain",
	KindDomainClaim:        "signups at the domain are routed to a tenant that does not exist; delete the claim",
	KindStatusHistory:      "the status was changed outside the lifecycle; find who changed it (audit log) and correct the status or the history by hand",
}

// Advice says what a kind of finding means and what to do about it.
func Advice(k Kind) string { return advice[k] }

// Kinds lists every kind, in the order the checks run.
func Kinds() []Kind {
	return []Kind{KindOwnerCount, KindSeatsUsed, KindPendingInvitations, KindMissingUserLink, KindStatusHistory,
		KindSubdomainUnclaimed, KindDanglingUserLink, KindOrphanIdempotency, KindSubdomainClaim, KindDomainClaim,
		KindBillingPending, KindOutboxDead, KindOutboxStuck}
}
