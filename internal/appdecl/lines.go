package appdecl

import (
	"sort"

	"github.com/goccy/go-yaml/ast"
)

// lineOf finds the line of the node at path (map keys and sequence indexes) in the parsed file;
// where the path goes further than the file, the line of the deepest node found.
func lineOf(f *ast.File, path []any) int {
	if f == nil || len(f.Docs) == 0 || f.Docs[0].Body == nil {
		return 0
	}
	node := f.Docs[0].Body
	line := lineOfNode(node)
	for _, step := range path {
		next, at := child(node, step)
		if next == nil {
			break
		}
		node = next
		if at > 0 {
			line = at
		}
	}
	return line
}

func lineOfNode(n ast.Node) int {
	if n == nil || n.GetToken() == nil {
		return 0
	}
	return n.GetToken().Position.Line
}

// child steps into a mapping by key (string) or a sequence by index (int), and says the line of
// the step: the key's line for a mapping, the element's for a sequence.
func child(n ast.Node, step any) (ast.Node, int) {
	switch key := step.(type) {
	case string:
		for _, mv := range mappingValues(n) {
			if mv.Key != nil && mv.Key.GetToken() != nil && mv.Key.GetToken().Value == key {
				if v := mv.Value; v != nil && isContainer(v) {
					return v, lineOfNode(mv.Key)
				}
				return mv.Key, lineOfNode(mv.Key)
			}
		}
	case int:
		if seq, ok := n.(*ast.SequenceNode); ok && key < len(seq.Values) {
			return seq.Values[key], lineOfNode(seq.Values[key])
		}
	}
	return nil, 0
}

func isContainer(n ast.Node) bool {
	switch n.(type) {
	case *ast.MappingNode, *ast.MappingValueNode, *ast.SequenceNode:
		return true
	}
	return false
}

func mappingValues(n ast.Node) []*ast.MappingValueNode {
	switch m := n.(type) {
	case *ast.MappingNode:
		return m.Values
	case *ast.MappingValueNode:
		return []*ast.MappingValueNode{m}
	}
	return nil
}

// collectionOrder lists the declared collections in the order the file gives them (the rules
// follow it, so a diff of the generated rules reads like a diff of the declaration).
func collectionOrder(f *ast.File, cols map[string]rawCollection) []string {
	pos := map[string]int{}
	if f != nil && len(f.Docs) > 0 {
		cols, _ := child(f.Docs[0].Body, "collections")
		for _, mv := range mappingValues(cols) {
			if mv.Key != nil && mv.Key.GetToken() != nil {
				pos[mv.Key.GetToken().Value] = mv.Key.GetToken().Position.Line
			}
		}
	}
	names := sortedKeys(cols)
	sort.SliceStable(names, func(i, j int) bool { return pos[names[i]] < pos[names[j]] })
	return names
}
