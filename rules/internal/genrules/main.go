// Command genrules writes firestore.rules from the policy tables of package rules. It runs from
// `go generate ./rules` (see rules/firestore.go); nothing else should write that file.
package main

import (
	"bytes"
	"flag"
	"fmt"
	"os"

	"github.com/tenantry/tenantry/rules"
)

func main() {
	out := flag.String("o", "firestore.rules", "the file to write")
	flag.Parse()
	src := []byte(rules.FirestoreRules())
	// Leave the file (and its modification time) alone when nothing changed, so tools watching
	// it, like a running emulator's file watcher, do not reload for nothing.
	if old, err := os.ReadFile(*out); err == nil && bytes.Equal(old, src) {
		return
	}
	if err := os.WriteFile(*out, src, 0o644); err != nil {
		fmt.Fprintf(os.Stderr, "genrules: %v (run it from the rules directory: go generate ./rules)\n", err)
		os.Exit(1)
	}
}
