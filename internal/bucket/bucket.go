// Package bucket is Tenantry's one use of Cloud Storage: the objects that hold tenant exports.
// It is the only package that imports the Cloud Storage client. Locally and in tests the bucket
// lives in fake-gcs-server (scripts/stack.sh's storage service), which the client reaches through
// STORAGE_EMULATOR_HOST without credentials.
package bucket

import (
	"context"
	"errors"
	"fmt"
	"io"

	"cloud.google.com/go/storage"

	"github.com/tenantry/tenantry/internal/errs"
)

// Bucket is one Cloud Storage bucket.
type Bucket struct {
	client *storage.Client
	name   string
}

// New connects to Cloud Storage (the emulator when STORAGE_EMULATOR_HOST is set) for bucket name.
func New(ctx context.Context, name string) (*Bucket, error) {
	c, err := storage.NewClient(ctx)
	if err != nil {
		return nil, fmt.Errorf("connect to Cloud Storage: %w (check credentials, or STORAGE_EMULATOR_HOST locally)", err)
	}
	return &Bucket{client: c, name: name}, nil
}

// Close releases the client.
func (b *Bucket) Close() error { return b.client.Close() }

// Name is the bucket's name.
func (b *Bucket) Name() string { return b.name }

// Create starts writing object name, replacing any object of that name once Close succeeds; an
// error from Write or Close means the object was not replaced. Cancelling ctx abandons the upload.
func (b *Bucket) Create(ctx context.Context, name, contentType string) io.WriteCloser {
	w := b.client.Bucket(b.name).Object(name).NewWriter(ctx)
	w.ContentType = contentType
	return w
}

// Open reads object name and says how large it is; a missing object is errs.ErrNotFound.
func (b *Bucket) Open(ctx context.Context, name string) (io.ReadCloser, int64, error) {
	r, err := b.client.Bucket(b.name).Object(name).NewReader(ctx)
	if errors.Is(err, storage.ErrObjectNotExist) {
		return nil, 0, fmt.Errorf("object %s: %w", name, errs.ErrNotFound)
	}
	if err != nil {
		return nil, 0, fmt.Errorf("read object %s of bucket %s: %w", name, b.name, err)
	}
	return r, r.Attrs.Size, nil
}

// EnsureExists creates the bucket when it is missing. Only for the emulator and tests: a real
// bucket is created once, with its location, retention and lifecycle rules (docs/operations.md).
func (b *Bucket) EnsureExists(ctx context.Context, project string) error {
	_, err := b.client.Bucket(b.name).Attrs(ctx)
	if err == nil {
		return nil
	}
	if !errors.Is(err, storage.ErrBucketNotExist) {
		return fmt.Errorf("read bucket %s: %w", b.name, err)
	}
	if err := b.client.Bucket(b.name).Create(ctx, project, nil); err != nil {
		return fmt.Errorf("create bucket %s: %w", b.name, err)
	}
	return nil
}
