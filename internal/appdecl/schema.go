package appdecl

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"github.com/santhosh-tekuri/jsonschema/v6/kind"
	"golang.org/x/text/language"
	"golang.org/x/text/message"

	"github.com/tenantry/tenantry/rules"
)

// compileSchema compiles a collection's JSON Schema (draft 2020-12) for the server and converts
// the part the rules can express; unenforced lists the rest, for `tenantry rules --explain`.
func compileSchema(collection string, raw map[string]any) (*rules.Schema, *jsonschema.Schema, []string, error) {
	doc, err := toJSONValue(raw)
	if err != nil {
		return nil, nil, nil, err
	}
	url := "tenantry-app:///" + collection + ".json"
	comp := jsonschema.NewCompiler()
	comp.DefaultDraft(jsonschema.Draft2020)
	comp.AssertFormat()
	if err := comp.AddResource(url, doc); err != nil {
		return nil, nil, nil, err
	}
	compiled, err := comp.Compile(url)
	if err != nil {
		return nil, nil, nil, err
	}
	var unenforced []string
	sch := convert(raw, collection, &unenforced)
	return sch, compiled, unenforced, nil
}

// schemaErrorPath is where in the schema a metaschema violation is (the deepest cause's
// location), as lineOf's path steps; nil when the error does not say.
func schemaErrorPath(err error) []any {
	var sve *jsonschema.SchemaValidationError
	if !errors.As(err, &sve) {
		return nil
	}
	var ve *jsonschema.ValidationError
	if !errors.As(sve.Err, &ve) {
		return nil
	}
	for len(ve.Causes) > 0 {
		ve = ve.Causes[0]
	}
	path := make([]any, len(ve.InstanceLocation))
	for i, s := range ve.InstanceLocation {
		path[i] = s
	}
	return path
}

// toJSONValue turns a YAML-decoded value into what the validator takes (numbers as json.Number).
func toJSONValue(v any) (any, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("the schema is not plain data: %w", err)
	}
	return jsonschema.UnmarshalJSON(bytes.NewReader(b))
}

// annotations are keywords that constrain nothing.
var annotations = []string{"title", "description", "$comment", "default", "examples", "$schema", "$id", "deprecated", "readOnly", "writeOnly"}

// convert maps a schema object to rules.Schema, listing in unenforced every keyword the rules
// cannot express (at path, for --explain).
func convert(raw map[string]any, path string, unenforced *[]string) *rules.Schema {
	s := &rules.Schema{}
	for _, k := range sortedKeys(raw) {
		if !convertKeyword(s, k, raw[k], path, unenforced) && !slices.Contains(annotations, k) {
			*unenforced = append(*unenforced, fmt.Sprintf("%s: %s %s (checked by the API, not the rules)", path, k, brief(raw[k])))
		}
	}
	return s
}

// convertKeyword sets keyword k of s; false when the rules cannot express it.
func convertKeyword(s *rules.Schema, k string, v any, path string, unenforced *[]string) bool {
	switch k {
	case "type":
		t, ok := v.(string)
		s.Type = t
		return ok
	case "required":
		s.Required = stringsOf(v)
		return true
	case "additionalProperties":
		b, ok := v.(bool)
		s.Closed = ok && !b
		return ok
	case "properties":
		props, _ := v.(map[string]any)
		for _, name := range sortedKeys(props) {
			sub, ok := props[name].(map[string]any)
			if !ok {
				*unenforced = append(*unenforced, fmt.Sprintf("%s.%s: a boolean schema (checked by the API, not the rules)", path, name))
				continue
			}
			s.Properties = append(s.Properties, rules.Property{Name: name, Schema: convert(sub, path+"."+name, unenforced)})
		}
		return true
	case "enum":
		vs, ok := v.([]any)
		for _, x := range vs {
			s.Enum = append(s.Enum, enumValue(x))
		}
		return ok
	case "minLength", "minItems":
		s.MinLength = intOf(v)
		return s.MinLength != nil
	case "maxLength", "maxItems":
		s.MaxLength = intOf(v)
		return s.MaxLength != nil
	case "minimum":
		s.Minimum = floatOf(v)
		return s.Minimum != nil
	case "maximum":
		s.Maximum = floatOf(v)
		return s.Maximum != nil
	}
	return false
}

func stringsOf(v any) []string {
	xs, _ := v.([]any)
	var out []string
	for _, x := range xs {
		if s, ok := x.(string); ok {
			out = append(out, s)
		}
	}
	return out
}

// enumValue normalizes a YAML scalar to string, float64, bool or nil.
func enumValue(x any) any {
	if f := floatOf(x); f != nil {
		return *f
	}
	return x
}

func intOf(v any) *int {
	if f := floatOf(v); f != nil && *f == float64(int(*f)) {
		n := int(*f)
		return &n
	}
	return nil
}

func floatOf(v any) *float64 {
	var f float64
	switch x := v.(type) {
	case int:
		f = float64(x)
	case int64:
		f = float64(x)
	case uint64:
		f = float64(x)
	case float64:
		f = x
	default:
		return nil
	}
	return &f
}

// brief renders a keyword's value for --explain.
func brief(v any) string {
	b, _ := json.Marshal(v)
	s := string(b)
	if len(s) > 60 {
		s = s[:57] + "..."
	}
	return strings.TrimSpace(s)
}

// Violation names what a ValidateDocument error is about: the document's field (a dotted path
// such as "address.city", "" for the document as a whole) and a one-line reason, from the first
// of the deepest causes. An error that is not a schema violation gives "" and its text.
func Violation(err error) (field, reason string) {
	var ve *jsonschema.ValidationError
	if !errors.As(err, &ve) {
		return "", err.Error()
	}
	for len(ve.Causes) > 0 {
		ve = ve.Causes[0]
	}
	path := slices.Clone(ve.InstanceLocation)
	reason = ve.ErrorKind.LocalizedString(englishPrinter)
	switch k := ve.ErrorKind.(type) {
	case *kind.Required:
		if len(k.Missing) > 0 {
			path = append(path, k.Missing[0])
			reason = "required: add it"
		}
	case *kind.AdditionalProperties:
		if len(k.Properties) > 0 {
			path = append(path, k.Properties[0])
			reason = "not a field of this collection's schema: remove it, or declare it in the schema"
		}
	}
	return strings.Join(path, "."), reason
}

var englishPrinter = message.NewPrinter(language.English)
