package install

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.yaml.in/yaml/v3"
)

// documentedValue is a key of values.yaml with its `# --` comment.
type documentedValue struct {
	comment string
	// node is the key's value; a leaf is a scalar, a sequence or an empty
	// mapping.
	node *yaml.Node
}

// TestChartValues_AreEachDocumentedInValuesAndTheREADME keeps values.yaml
// and the README's table in step: every value is explained by a `# --`
// comment that starts with its path (on itself or on a parent, as for
// resources), every such path is in the README's table (itself, a parent or
// its children), every key the table names exists, and where the table gives
// a literal default it is the value's.
func TestChartValues_AreEachDocumentedInValuesAndTheREADME(t *testing.T) {
	var doc yaml.Node
	require.NoError(t, yaml.Unmarshal([]byte(readFile(t, filepath.Join(chartDir, "values.yaml"))), &doc))
	require.Len(t, doc.Content, 1)
	documented := map[string]documentedValue{}
	all := map[string]*yaml.Node{}
	var walk func(prefix string, m *yaml.Node, explained bool)
	walk = func(prefix string, m *yaml.Node, explained bool) {
		for i := 0; i+1 < len(m.Content); i += 2 {
			key, value := m.Content[i], m.Content[i+1]
			path := prefix + key.Value
			all[path] = value
			comment := ""
			for _, line := range strings.Split(key.HeadComment, "\n") {
				if strings.HasPrefix(line, "# -- ") {
					comment = strings.TrimPrefix(line, "# -- ")
				}
			}
			if comment != "" {
				rest, found := strings.CutPrefix(comment, path)
				assert.True(t, found && strings.ContainsAny(rest[:min(1, len(rest))], " :,"),
					"the comment of %s starts with its path: %q", path, comment)
				documented[path] = documentedValue{comment: comment, node: value}
			}
			leaf := value.Kind != yaml.MappingNode || len(value.Content) == 0
			if leaf {
				assert.True(t, explained || comment != "", "%s has no `# --` comment (nor a parent with one)", path)
				continue
			}
			walk(path+".", value, explained || comment != "")
		}
	}
	walk("", doc.Content[0], false)

	table := readmeValues(t)
	require.NotEmpty(t, table)
	for path := range documented {
		covered := false
		for key := range table {
			if key == path || strings.HasPrefix(key, path+".") || strings.HasPrefix(path, key+".") {
				covered = true
			}
		}
		assert.True(t, covered, "%s is not in the README's values table", path)
	}
	for key, def := range table {
		node, ok := all[key]
		if !assert.True(t, ok, "the README documents %s, which values.yaml does not have", key) || def == nil {
			continue
		}
		assert.Equal(t, *def, literal(node), "the README's default of %s", key)
	}
}

// readmeValues returns the keys of the chart README's values table, with
// the default each row gives as a literal (nil when it gives a description).
// A row may name several keys ("`a`, `b`"), a suffix standing for a sibling
// ("`x.requests.cpu` / `.memory`"), and as many defaults.
func readmeValues(t *testing.T) map[string]*string {
	t.Helper()
	values := map[string]*string{}
	for _, line := range strings.Split(readFile(t, filepath.Join(chartDir, "README.md")), "\n") {
		cells := strings.Split(line, "|")
		if len(cells) < 4 || !strings.HasPrefix(strings.TrimSpace(cells[1]), "`") {
			continue
		}
		keys := backticked(cells[1])
		for i, k := range keys {
			if strings.HasPrefix(k, ".") {
				first := keys[0]
				keys[i] = first[:strings.LastIndex(first, ".")] + k
			}
		}
		defaults := backticked(cells[2])
		for i, k := range keys {
			var def *string
			switch {
			case len(defaults) == len(keys):
				def = &defaults[i]
			case len(defaults) == 1 && strings.TrimSpace(cells[2]) == "`"+defaults[0]+"`":
				def = &defaults[0]
			}
			if def != nil && strings.Contains(*def, "<") {
				def = nil // computed, such as <fullname>-operator
			}
			values[k] = def
		}
	}
	return values
}

func backticked(cell string) []string {
	parts := strings.Split(cell, "`")
	var out []string
	for i := 1; i < len(parts); i += 2 {
		out = append(out, parts[i])
	}
	return out
}

// literal is a value as the README writes it.
func literal(n *yaml.Node) string {
	switch {
	case n.Kind == yaml.SequenceNode && len(n.Content) == 0:
		return "[]"
	case n.Kind == yaml.MappingNode && len(n.Content) == 0:
		return "{}"
	case n.Kind == yaml.ScalarNode && n.Tag == "!!str" && n.Value == "":
		return `""`
	}
	return n.Value
}
