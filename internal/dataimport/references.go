package dataimport

import (
	"context"
	"fmt"
	"sort"

	"github.com/tenantry/tenantry/rules"
)

// DocRef names a document of a tenant's collection.
type DocRef struct {
	Collection string
	ID         string
}

// checkReferences keeps the records whose every declared reference names a document that
// exists in the tenant, or, for a reference to the call's own collection, a record of this call
// that is itself kept. The tenant's documents are read in one round trip. It returns the records
// kept, in order, and a rejection for each other one.
func (s *Service) checkReferences(ctx context.Context, tenantID string, col rules.AppCollection, recs []Record) ([]Record, []Rejection, error) {
	if len(col.References) == 0 || len(recs) == 0 {
		return recs, nil, nil
	}
	var refs []DocRef
	wanted := map[DocRef]bool{}
	for _, r := range recs {
		for _, ref := range col.References {
			if id, ok := r.Fields[ref.Field].(string); ok && !wanted[DocRef{ref.Collection, id}] {
				wanted[DocRef{ref.Collection, id}] = true
				refs = append(refs, DocRef{ref.Collection, id})
			}
		}
	}
	existing, err := s.store.Exists(ctx, tenantID, refs)
	if err != nil {
		return nil, nil, fmt.Errorf("read referenced documents: %w", err)
	}
	return resolveReferences(col, recs, existing)
}

// resolveReferences decides checkReferences from what exists. A reference to a record of the
// same call holds only while that record is kept, so rejections propagate until nothing changes
// (a chain of self-references whose first link is missing is rejected whole).
func resolveReferences(col rules.AppCollection, recs []Record, existing map[DocRef]bool) ([]Record, []Rejection, error) {
	inCall := map[string]bool{}
	for _, r := range recs {
		inCall[r.ID] = true
	}
	rejected := map[int]Rejection{}
	for changed := true; changed; {
		changed = false
		for _, r := range recs {
			if _, done := rejected[r.Index]; done {
				continue
			}
			if rej, bad := danglingReference(col, r, existing, inCall); bad {
				rejected[r.Index] = rej
				delete(inCall, r.ID)
				changed = true
			}
		}
	}
	kept := recs[:0:0]
	var out []Rejection
	for _, r := range recs {
		if rej, bad := rejected[r.Index]; bad {
			out = append(out, rej)
			continue
		}
		kept = append(kept, r)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Index < out[j].Index })
	return kept, out, nil
}

// danglingReference returns the rejection of r for its first reference that names nothing.
func danglingReference(col rules.AppCollection, r Record, existing map[DocRef]bool, inCall map[string]bool) (Rejection, bool) {
	for _, ref := range col.References {
		id, ok := r.Fields[ref.Field].(string)
		if !ok || existing[DocRef{ref.Collection, id}] {
			continue
		}
		if ref.Collection == col.Name && inCall[id] {
			continue
		}
		reason := fmt.Sprintf("no %s document %q in this organization; import %s first, or fix the id", ref.Collection, id, ref.Collection)
		if ref.Collection == col.Name {
			reason = fmt.Sprintf("no %s document %q in this organization or among this call's accepted records; import it first, or fix the id", ref.Collection, id)
		}
		return Rejection{Index: r.Index, Field: ref.Field, Reason: reason}, true
	}
	return Rejection{}, false
}
