package testenv

import (
	"context"
	"strings"
	"testing"

	"cloud.google.com/go/firestore"
)

// CountTree counts the documents under the document at path (slash-separated), at any depth,
// by collection pattern: the collection ids from path down, joined with '/' ("clients",
// "clients/notes"); the document at path itself counts under "" when it exists. It walks the
// emulator's listings (collection ids, and document references including missing documents that
// only hold subcollections), so nothing under path escapes it.
func CountTree(t testing.TB, fs *firestore.Client, path string) map[string]int {
	t.Helper()
	ctx := context.Background()
	counts := map[string]int{}
	root := fs.Doc(path)
	if snap, err := root.Get(ctx); err == nil && snap.Exists() {
		counts[""]++
	}
	var walk func(doc *firestore.DocumentRef, pattern []string)
	walk = func(doc *firestore.DocumentRef, pattern []string) {
		cols, err := doc.Collections(ctx).GetAll()
		if err != nil {
			t.Fatalf("testenv: list the collections of %s: %v", doc.Path, err)
		}
		for _, col := range cols {
			p := append(append([]string(nil), pattern...), col.ID)
			refs, err := col.DocumentRefs(ctx).GetAll()
			if err != nil {
				t.Fatalf("testenv: list %s: %v", col.Path, err)
			}
			if len(refs) == 0 {
				continue
			}
			snaps, err := fs.GetAll(ctx, refs)
			if err != nil {
				t.Fatalf("testenv: read %s: %v", col.Path, err)
			}
			for _, s := range snaps {
				if s.Exists() {
					counts[strings.Join(p, "/")]++
				}
				walk(s.Ref, p)
			}
		}
	}
	walk(root, nil)
	return counts
}

// Total adds up counts.
func Total(counts map[string]int) int {
	n := 0
	for _, c := range counts {
		n += c
	}
	return n
}
