package resolvers_test

import (
	"os"
	"regexp"
	"testing"

	"github.com/vektah/gqlparser/v2"
	"github.com/vektah/gqlparser/v2/ast"
)

// contractPath is the binding public contract, kept beside the checkout (../shared).
const contractPath = "../../shared/contract/README.md"

// TestSchemaKeepsTheContract fails when schema.graphqls lacks a type, field, argument or enum value
// of the contract's GraphQL block, or gives one another type, or adds a required argument that
// clients written against the contract would not send.
func TestSchemaKeepsTheContract(t *testing.T) {
	doc, err := os.ReadFile(contractPath)
	if err != nil {
		t.Fatalf("read the contract (%s, beside the checkout): %v", contractPath, err)
	}
	block := regexp.MustCompile("(?s)```graphql\n(.*?)```").FindSubmatch(doc)
	if block == nil {
		t.Fatal("the contract has no ```graphql block")
	}
	contract, err := gqlparser.LoadSchema(&ast.Source{Name: "contract", Input: string(block[1])})
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
