package resolvers_test

import (
	"errors"
	"io/fs"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/vektah/gqlparser/v2"
	"github.com/vektah/gqlparser/v2/ast"
)

// contractPath is the binding contract, kept beside the checkout (../shared); contractCopy is its
// GraphQL block, checked in so the schema is checked wherever the repository is cloned.
const (
	contractPath = "../../shared/contract/README.md"
	contractCopy = "testdata/contract.graphqls"
)

var graphqlBlock = regexp.MustCompile("(?s)```graphql\n(.*?)```")

// TestContractCopyIsCurrent fails when the checked-in copy no longer matches the contract beside
// the checkout. CI (CI=true, as .ci/run sets it) must have the contract there, so a missing one
// fails the test: otherwise a stale copy would pass there unseen. Locally, in a clone outside the
// workspace, the copy is all there is, and the test says so and passes.
func TestContractCopyIsCurrent(t *testing.T) {
	doc, err := os.ReadFile(contractPath)
	if errors.Is(err, fs.ErrNotExist) {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s is not beside this checkout, so %s cannot be checked against it; on CI, check out the shared workspace (the contract in ../shared) beside the repository", contractPath, contractCopy)
		}
		t.Logf("%s is not beside this checkout; checking the schema against %s only", contractPath, contractCopy)
		return
	}
	if err != nil {
		t.Fatal(err)
	}
	block := graphqlBlock.FindSubmatch(doc)
	if block == nil {
		t.Fatalf("%s has no graphql block", contractPath)
	}
	copyText, err := os.ReadFile(contractCopy)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasSuffix(string(copyText), string(block[1])) {
		t.Fatalf("%s differs from the contract's GraphQL block in %s: copy the block again, then make the schema keep it", contractCopy, contractPath)
	}
}

// TestSchemaKeepsTheContract fails when schema.graphqls lacks a type, field, argument or enum value
// of the contract's GraphQL block, or gives one another type, or adds a required argument that
// clients written against the contract would not send.
func TestSchemaKeepsTheContract(t *testing.T) {
	block, err := os.ReadFile(contractCopy)
	if err != nil {
		t.Fatal(err)
	}
	contract, err := gqlparser.LoadSchema(&ast.Source{Name: contractCopy, Input: string(block)})
	if err != nil {
		t.Fatalf("parse the contract's schema: %v", err)
	}
	own, err := os.ReadFile("../schema.graphqls")
	if err != nil {
		t.Fatal(err)
	}
	schema, err := gqlparser.LoadSchema(&ast.Source{Name: "schema.graphqls", Input: string(own)})
	if err != nil {
		t.Fatalf("parse schema.graphqls: %v", err)
	}
	checked := 0
	for name, want := range contract.Types {
		if want.BuiltIn {
			continue
		}
		got := schema.Types[name]
		if got == nil || got.Kind != want.Kind {
			t.Errorf("type %s (%s) is missing or of another kind", name, want.Kind)
			continue
		}
		for _, v := range want.EnumValues {
			if got.EnumValues.ForName(v.Name) == nil {
				t.Errorf("enum %s lacks %s", name, v.Name)
			}
		}
		for _, wf := range want.Fields {
			checked++
			gf := got.Fields.ForName(wf.Name)
			if gf == nil {
				t.Errorf("%s.%s is missing", name, wf.Name)
				continue
			}
			if gf.Type.String() != wf.Type.String() {
				t.Errorf("%s.%s is %s, the contract says %s", name, wf.Name, gf.Type, wf.Type)
			}
			for _, wa := range wf.Arguments {
				if ga := gf.Arguments.ForName(wa.Name); ga == nil || ga.Type.String() != wa.Type.String() {
					t.Errorf("%s.%s(%s: %s) is missing or of another type", name, wf.Name, wa.Name, wa.Type)
				}
			}
			for _, ga := range gf.Arguments {
				if wf.Arguments.ForName(ga.Name) == nil && ga.Type.NonNull && ga.DefaultValue == nil {
					t.Errorf("%s.%s adds the required argument %s, which contract clients do not send", name, wf.Name, ga.Name)
				}
			}
		}
	}
	if checked < 50 {
		t.Fatalf("only %d contract fields checked; the contract block was not read as expected", checked)
	}
}
