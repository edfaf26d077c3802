package importclient

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
)

// state is the small file next to the input (<input>.import-state.json) that lets an interrupted
// import resume: which run it is, how many of its calls completed, and the totals so far. Call
// i of a run carries the idempotency key <run>-<i>, so a call whose answer was lost (the process
// died after the server committed) is answered again, the same, when the run resumes.
type state struct {
	Version    int    `json:"version"`
	Run        string `json:"run"`
	InputHash  string `json:"inputSha256"`
	Collection string `json:"collection"`
	TenantID   string `json:"tenantId"`
	Batch      int    `json:"batch"`
	MaxBytes   int    `json:"maxCallBytes"`
	// CallsDone calls of the run completed; the next one to send is call CallsDone.
	CallsDone int `json:"callsDone"`
	// RejectionsSize is the rejections file's size after the completed calls: a resumed run
	// truncates it there, so a call sent again does not list its rejections twice.
	RejectionsSize int64  `json:"rejectionsSize"`
	Totals         Totals `json:"totals"`
}

const stateVersion = 1

// StatePath is where the state of an import of path is kept.
func StatePath(path string) string { return path + ".import-state.json" }

// sameImport reports whether st was written by an import of the same input into the same place,
// cut into the same calls.
func (st state) sameImport(o state) bool {
	return st.Version == o.Version && st.InputHash == o.InputHash && st.Collection == o.Collection &&
		st.TenantID == o.TenantID && st.Batch == o.Batch && st.MaxBytes == o.MaxBytes
}

// loadState reads the state at path; ok is false when there is none.
func loadState(path string) (state, bool, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return state{}, false, nil
	}
	if err != nil {
		return state{}, false, err
	}
	var st state
	if err := json.Unmarshal(b, &st); err != nil {
		return state{}, false, fmt.Errorf("%s is not an import state file (%v); delete it to start over", path, err)
	}
	return st, true, nil
}

// save writes st at path atomically (a temporary file renamed over it), so a crash leaves the
// previous state or the new one, never half of one.
func (st state) save(path string) error {
	b, err := json.MarshalIndent(st, "", "  ")
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), filepath.Base(path)+".tmp*")
	if err != nil {
		return err
	}
	if _, err := tmp.Write(b); err != nil {
		_ = tmp.Close()
		_ = os.Remove(tmp.Name())
		return err
	}
	if err := tmp.Sync(); err != nil {
		_ = tmp.Close()
		_ = os.Remove(tmp.Name())
		return err
	}
	if err := tmp.Close(); err != nil {
		_ = os.Remove(tmp.Name())
		return err
	}
	return os.Rename(tmp.Name(), path)
}

// newRun names a new run: its calls' idempotency keys start with it.
func newRun() string { return "import-" + rand.Text() }

// fileHash is the hex SHA-256 of the file at path.
func fileHash(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}
