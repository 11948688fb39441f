package outputcheck

import (
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
)

// errTooComplex is vet's verdict on a schema whose expansion is too big.
var errTooComplex = fmt.Errorf("the request's schema expands, with its $refs followed, to more than %d subschemas; the sidecar does not check against it", maxSchemaCost)

// vet refuses what the compiler must never see: references it would
// resolve outside the schema, and schemas whose references fan out so
// that checking one value could take exponential time (a $def used twice
// by a $def used twice by ...). It walks the whole document, keywords and
// data alike ("const", "enum", "examples"), so it overcounts, and can only
// refuse schemas it might have allowed, never the other way round.
func vet(doc any) error {
	v := &vetter{root: doc, memo: map[string]int{}, open: map[string]bool{}}
	if m, ok := doc.(map[string]any); ok {
		if s, ok := m["$schema"].(string); ok && strings.Contains(s, "draft-04") {
			v.draft4 = true
		}
	}
	_, err := v.cost(doc, 0)
	return err
}

type vetter struct {
	root   any
	draft4 bool // draft-04 names its identifiers "id"
	// memo holds the cost of each reference target walked; open those
	// being walked (a reference cycle, bounded by the value checked).
	memo map[string]int
	open map[string]bool
}

func (v *vetter) cost(node any, depth int) (int, error) {
	if depth > maxSchemaDepth {
		// The compiler's time grows faster than the depth: 1000 levels
		// take seconds.
		return 0, fmt.Errorf("the request's schema nests deeper than %d levels; the sidecar does not check against it", maxSchemaDepth)
	}
	switch n := node.(type) {
	case map[string]any:
		// What cannot be followed is refused before any $ref is: a nested
		// $id changes what the $refs beside it mean.
		for _, k := range []string{"$dynamicRef", "$recursiveRef"} {
			if _, ok := n[k]; ok {
				return 0, fmt.Errorf("the request's schema uses %s, which the sidecar does not follow; it is not checked", k)
			}
		}
		for _, k := range []string{"$id", "id"} {
			if _, isString := n[k].(string); isString && depth > 0 && (k == "$id" || v.draft4) {
				return 0, fmt.Errorf("the request's schema has a nested %s, which the sidecar does not follow; it is not checked", k)
			}
		}
		total := 1
		for k, child := range n {
			switch k {
			case "$ref":
				if ref, ok := child.(string); ok {
					c, err := v.ref(ref)
					if err != nil {
						return 0, err
					}
					total += c
					continue
				}
			}
			c, err := v.cost(child, depth+1)
			if err != nil {
				return 0, err
			}
			total += c
			if total > maxSchemaCost {
				return 0, errTooComplex
			}
		}
		return total, nil
	case []any:
		total := 0
		for _, child := range n {
			c, err := v.cost(child, depth+1)
			if err != nil {
				return 0, err
			}
			total += c
			if total > maxSchemaCost {
				return 0, errTooComplex
			}
		}
		return total, nil
	}
	return 0, nil
}

// ref is the cost of what ref points at: a JSON pointer into the schema.
func (v *vetter) ref(ref string) (int, error) {
	if ref != "#" && !strings.HasPrefix(ref, "#/") {
		return 0, fmt.Errorf("the request's schema refers to %q; the sidecar follows only references into the schema itself (\"#\" or \"#/...\"), so it is not checked", truncate(ref, 80))
	}
	if v.open[ref] {
		return 1, nil
	}
	if c, ok := v.memo[ref]; ok {
		return c, nil
	}
	target, err := resolve(v.root, ref)
	if err != nil {
		return 0, err
	}
	v.open[ref] = true
	c, err := v.cost(target, 1)
	delete(v.open, ref)
	if err != nil {
		return 0, err
	}
	v.memo[ref] = c
	return c, nil
}

// resolve finds the value a "#/..." pointer names.
func resolve(root any, ref string) (any, error) {
	frag, err := url.PathUnescape(strings.TrimPrefix(ref, "#"))
	if err != nil {
		return nil, fmt.Errorf("the request's schema has a $ref %q that is not a JSON pointer", truncate(ref, 80))
	}
	node := root
	if frag == "" {
		return node, nil
	}
	for _, tok := range strings.Split(frag[1:], "/") {
		tok = strings.NewReplacer("~1", "/", "~0", "~").Replace(tok)
		switch n := node.(type) {
		case map[string]any:
			next, ok := n[tok]
			if !ok {
				return nil, errNoTarget(ref)
			}
			node = next
		case []any:
			i, err := strconv.Atoi(tok)
			if err != nil || i < 0 || i >= len(n) {
				return nil, errNoTarget(ref)
			}
			node = n[i]
		default:
			return nil, errNoTarget(ref)
		}
	}
	return node, nil
}

func errNoTarget(ref string) error {
	return errors.New("the request's schema has a $ref " + strconv.Quote(truncate(ref, 80)) + " that points at nothing in it")
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}
