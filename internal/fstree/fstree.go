// Package fstree walks every document under a Firestore document, at any depth. The Go client
// cannot run an "all descendants" query, so the walk follows the emulator's and Firestore's
// listings: a document's collection ids, then each collection's document references, including
// missing documents that only hold subcollections (ListDocuments with showMissing), so nothing
// under the root escapes it. The purge (package store), the export and the tests' counts
// (testenv.CountTree) all walk the same way, through Walk.
//
// Listing a document's collections is one round trip per document, so the documents of a chunk
// are descended into in parallel (Options.Parallel); the visits themselves never overlap.
package fstree

import (
	"context"
	"errors"
	"sync"

	"cloud.google.com/go/firestore"
	"golang.org/x/sync/errgroup"
	"google.golang.org/api/iterator"
)

// ErrStop, returned by a Visit, ends the walk early; Walk then returns nil.
var ErrStop = errors.New("fstree: stop the walk")

// Visit receives up to Options.Chunk references of one collection, under the collection's
// pattern: the collection ids from the root down ("clients", "clients/notes" as
// []string{"clients", "notes"}). The references may name missing documents; the walk has
// already visited everything under them (children come before their parents, which is the order
// a deletion needs). Calls never overlap.
type Visit func(pattern []string, refs []*firestore.DocumentRef) error

// Options tune a walk; the zero value walks everything in chunks of DefaultChunk.
type Options struct {
	// Chunk bounds the references held per collection level at once (memory stays bounded by
	// the tree's depth times Chunk, whatever the collections' sizes).
	Chunk int
	// Parallel bounds how many documents of a chunk are descended into at once, per level
	// (0: DefaultParallel).
	Parallel int
	// Skip leaves out a collection and everything under it; nil skips nothing.
	Skip func(pattern []string) bool
}

// Defaults: one GetAll's worth of references per chunk; a few listings in flight per level.
const (
	DefaultChunk    = 300
	DefaultParallel = 8
)

// walker is one walk: its options and its serialized visit.
type walker struct {
	o       Options
	mu      sync.Mutex
	stopped bool
	visit   Visit
}

// Walk visits every collection under root (not root itself), depth first.
func Walk(ctx context.Context, root *firestore.DocumentRef, o Options, visit Visit) error {
	if o.Chunk <= 0 {
		o.Chunk = DefaultChunk
	}
	if o.Parallel <= 0 {
		o.Parallel = DefaultParallel
	}
	w := &walker{o: o, visit: visit}
	err := w.doc(ctx, root, nil)
	if errors.Is(err, ErrStop) {
		return nil
	}
	return err
}

// call runs the visit, one at a time; after an ErrStop, it only repeats ErrStop.
func (w *walker) call(pattern []string, refs []*firestore.DocumentRef) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.stopped {
		return ErrStop
	}
	err := w.visit(pattern, refs)
	w.stopped = errors.Is(err, ErrStop)
	return err
}

func (w *walker) doc(ctx context.Context, doc *firestore.DocumentRef, pattern []string) error {
	cols, err := doc.Collections(ctx).GetAll()
	if err != nil {
		return err
	}
	for _, col := range cols {
		p := append(append([]string(nil), pattern...), col.ID)
		if w.o.Skip != nil && w.o.Skip(p) {
			continue
		}
		if err := w.collection(ctx, col, p); err != nil {
			return err
		}
	}
	return nil
}

// collection lists col's references chunk by chunk; each chunk's subtrees are walked before
// the chunk is visited.
func (w *walker) collection(ctx context.Context, col *firestore.CollectionRef, pattern []string) error {
	it := col.DocumentRefs(ctx)
	chunk := make([]*firestore.DocumentRef, 0, w.o.Chunk)
	for {
		r, err := it.Next()
		if errors.Is(err, iterator.Done) {
			return w.flush(ctx, pattern, chunk)
		}
		if err != nil {
			return err
		}
		if chunk = append(chunk, r); len(chunk) == w.o.Chunk {
			if err := w.flush(ctx, pattern, chunk); err != nil {
				return err
			}
			chunk = make([]*firestore.DocumentRef, 0, w.o.Chunk)
		}
	}
}

// flush walks the subtrees of a chunk's documents, in parallel, then visits the chunk.
func (w *walker) flush(ctx context.Context, pattern []string, chunk []*firestore.DocumentRef) error {
	if len(chunk) == 0 {
		return nil
	}
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(w.o.Parallel)
	for _, r := range chunk {
		g.Go(func() error { return w.doc(gctx, r, pattern) })
	}
	if err := g.Wait(); err != nil {
		return err
	}
	return w.call(pattern, chunk)
}
