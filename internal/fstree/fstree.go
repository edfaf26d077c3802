// Package fstree walks every document under a Firestore document, at any depth. The Go client
// cannot run an "all descendants" query, so the walk follows the emulator's and Firestore's
// listings: a document's collection ids, then each collection's document references, including
// missing documents that only hold subcollections (ListDocuments with showMissing), so nothing
// under the root escapes it. The purge (package store), the export and the tests' counts
// (testenv.CountTree) all walk the same way, through Walk.
package fstree

import (
	"context"
	"errors"

	"cloud.google.com/go/firestore"
	"google.golang.org/api/iterator"
)

// Stop, returned by a Visit, ends the walk early; Walk then returns nil.
var Stop = errors.New("fstree: stop the walk")

// Visit receives up to Options.Chunk references of one collection, under the collection's
// pattern: the collection ids from the root down ("clients", "clients/notes" as
// []string{"clients", "notes"}). The references may name missing documents; the walk has
// already visited everything under them (children come before their parents, which is the order
// a deletion needs).
type Visit func(pattern []string, refs []*firestore.DocumentRef) error

// Options tune a walk; the zero value walks everything in chunks of DefaultChunk.
type Options struct {
	// Chunk bounds the references held per collection level at once (memory stays bounded by
	// the tree's depth times Chunk, whatever the collections' sizes).
	Chunk int
	// Skip leaves out a collection and everything under it; nil skips nothing.
	Skip func(pattern []string) bool
}

// DefaultChunk is one GetAll's worth of references.
const DefaultChunk = 300

// Walk visits every collection under root (not root itself), depth first.
func Walk(ctx context.Context, root *firestore.DocumentRef, o Options, visit Visit) error {
	if o.Chunk <= 0 {
		o.Chunk = DefaultChunk
	}
	err := walkDoc(ctx, root, nil, o, visit)
	if errors.Is(err, Stop) {
		return nil
	}
	return err
}

func walkDoc(ctx context.Context, doc *firestore.DocumentRef, pattern []string, o Options, visit Visit) error {
	cols, err := doc.Collections(ctx).GetAll()
	if err != nil {
		return err
	}
	for _, col := range cols {
		p := append(append([]string(nil), pattern...), col.ID)
		if o.Skip != nil && o.Skip(p) {
			continue
		}
		if err := walkCollection(ctx, col, p, o, visit); err != nil {
			return err
		}
	}
	return nil
}

// walkCollection lists col's references chunk by chunk; each chunk's subtrees are walked before
// the chunk is visited.
func walkCollection(ctx context.Context, col *firestore.CollectionRef, pattern []string, o Options, visit Visit) error {
	it := col.DocumentRefs(ctx)
	chunk := make([]*firestore.DocumentRef, 0, o.Chunk)
	flush := func() error {
		if len(chunk) == 0 {
			return nil
		}
		for _, r := range chunk {
			if err := walkDoc(ctx, r, pattern, o, visit); err != nil {
				return err
			}
		}
		err := visit(pattern, chunk)
		chunk = make([]*firestore.DocumentRef, 0, o.Chunk)
		return err
	}
	for {
		r, err := it.Next()
		if errors.Is(err, iterator.Done) {
			return flush()
		}
		if err != nil {
			return err
		}
		if chunk = append(chunk, r); len(chunk) == o.Chunk {
			if err := flush(); err != nil {
				return err
			}
		}
	}
}
