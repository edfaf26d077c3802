package testenv

import (
	"context"
	"strings"
	"testing"

	"cloud.google.com/go/firestore"

	"github.com/tenantry/tenantry/internal/fstree"
)

// CountTree counts the documents under the document at path (slash-separated), at any depth,
// by collection pattern: the collection ids from path down, joined with '/' ("clients",
// "clients/notes"); the document at path itself counts under "" when it exists. It walks the
// tree as the purge and the export do (package fstree), so nothing under path escapes it.
func CountTree(t testing.TB, fs *firestore.Client, path string) map[string]int {
	t.Helper()
	ctx := context.Background()
	counts := map[string]int{}
	root := fs.Doc(path)
	if snap, err := root.Get(ctx); err == nil && snap.Exists() {
		counts[""]++
	}
	err := fstree.Walk(ctx, root, fstree.Options{}, func(pattern []string, refs []*firestore.DocumentRef) error {
		snaps, err := fs.GetAll(ctx, refs)
		if err != nil {
			return err
		}
		for _, s := range snaps {
			if s.Exists() {
				counts[strings.Join(pattern, "/")]++
			}
		}
		return nil
	})
	if err != nil {
		t.Fatalf("testenv: walk the documents under %s: %v", path, err)
	}
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
