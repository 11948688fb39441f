package outputcheck

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const personSchema = `{"type":"object","properties":{"name":{"type":"string"},"age":{"type":"integer","minimum":0}},"required":["name","age"],"additionalProperties":false}`

func TestCheck_JudgesTextsAgainstWhatWasAsked(t *testing.T) {
	tests := map[string]struct {
		want        Want
		schema      string
		text        string
		wantVerdict Verdict
		wantReason  string
		wantMessage []string
		wantKeyword string
	}{
		"any JSON value passes as JSON": {want: AnyJSON, text: `[1, "two"]`, wantVerdict: Valid},
		"prose is not JSON": {
			want: AnyJSON, text: `Sure! Here is your JSON: {"a":1}`,
			wantVerdict: Invalid, wantReason: ReasonNotJSON, wantMessage: []string{"not valid JSON", "at byte 1"},
		},
		"an empty text is not JSON": {
			want: Object, text: "  ", wantVerdict: Invalid, wantReason: ReasonNotJSON, wantMessage: []string{"no text where JSON was asked for"},
		},
		"JSON cut short is not JSON": {
			want: Object, text: `{"name":"Ada","ag`, wantVerdict: Invalid, wantReason: ReasonNotJSON,
		},
		"an array is not the object json_object asks for": {
			want: Object, text: ` [1]`, wantVerdict: Invalid, wantReason: ReasonNotObject,
		},
		"an object passes json_object": {want: Object, text: "\n{\"a\":1}", wantVerdict: Valid},
		"a matching object passes its schema": {
			want: Schema, schema: personSchema, text: `{"name":"Ada","age":36}`, wantVerdict: Valid,
		},
		"a wrong type is named with its place": {
			want: Schema, schema: personSchema, text: `{"name":"Ada","age":"36"}`,
			wantVerdict: Invalid, wantReason: ReasonSchemaMismatch, wantKeyword: "type",
			wantMessage: []string{"at '/age'", "want integer"},
		},
		"a missing property is named": {
			want: Schema, schema: personSchema, text: `{"name":"Ada"}`,
			wantVerdict: Invalid, wantReason: ReasonSchemaMismatch, wantKeyword: "required", wantMessage: []string{"age"},
		},
		"an extra property fails additionalProperties": {
			want: Schema, schema: personSchema, text: `{"name":"Ada","age":1,"x":0}`,
			wantVerdict: Invalid, wantReason: ReasonSchemaMismatch, wantKeyword: "additionalProperties",
		},
		"a recursive schema with local references works": {
			want:   Schema,
			schema: `{"$defs":{"node":{"type":"object","properties":{"children":{"type":"array","items":{"$ref":"#/$defs/node"}}},"required":["children"]}},"$ref":"#/$defs/node"}`,
			text:   `{"children":[{"children":[]},{"children":[{"children":[]}]}]}`, wantVerdict: Valid,
		},
		"a schema that is not JSON is skipped": {
			want: Schema, schema: `{"type":`, text: `{}`, wantVerdict: Skipped, wantReason: ReasonSchemaUnusable, wantMessage: []string{"not JSON"},
		},
		"a schema that is not a schema is skipped": {
			want: Schema, schema: `{"type":"objekt"}`, text: `{}`, wantVerdict: Skipped, wantReason: ReasonSchemaUnusable, wantMessage: []string{"does not compile"},
		},
		"a schema that is an array is skipped": {
			want: Schema, schema: `[1,2]`, text: `{}`, wantVerdict: Skipped, wantReason: ReasonSchemaUnusable,
		},
		"a remote reference is never fetched": {
			want: Schema, schema: `{"$ref":"http://127.0.0.1:1/schema.json"}`, text: `{}`,
			wantVerdict: Skipped, wantReason: ReasonSchemaUnusable, wantMessage: []string{"follows only references into the schema itself"},
		},
		"a file reference is never read": {
			want: Schema, schema: `{"$ref":"file:///etc/passwd"}`, text: `{}`,
			wantVerdict: Skipped, wantReason: ReasonSchemaUnusable,
		},
		"an unknown meta-schema is never fetched": {
			want: Schema, schema: `{"$schema":"http://127.0.0.1:1/meta","type":"object"}`, text: `{}`,
			wantVerdict: Skipped, wantReason: ReasonSchemaUnusable, wantMessage: []string{"loads no schema from http://127.0.0.1:1/meta"},
		},
		"a nested $id is not followed": {
			want: Schema, schema: `{"properties":{"a":{"$id":"http://127.0.0.1:1/a","$ref":"#/x"}}}`, text: `{}`,
			wantVerdict: Skipped, wantReason: ReasonSchemaUnusable, wantMessage: []string{"nested $id"},
		},
		"a dangling reference is skipped": {
			want: Schema, schema: `{"$ref":"#/$defs/nope"}`, text: `{}`,
			wantVerdict: Skipped, wantReason: ReasonSchemaUnusable, wantMessage: []string{"points at nothing"},
		},
		"a draft-07 schema is judged by draft-07": {
			want: Schema, schema: `{"$schema":"http://json-schema.org/draft-07/schema#","type":"object","required":["a"]}`, text: `{}`,
			wantVerdict: Invalid, wantReason: ReasonSchemaMismatch, wantKeyword: "required",
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			c := New(DefaultMaxEntries, DefaultMaxBytes)
			r := c.Check(tc.want, []byte(tc.schema), []byte(tc.text))
			assert.Equal(t, tc.wantVerdict, r.Verdict, "%+v", r)
			assert.Equal(t, tc.wantReason, r.Reason)
			assert.Equal(t, tc.wantKeyword, r.Keyword)
			for _, m := range tc.wantMessage {
				assert.Contains(t, r.Message, m)
			}
		})
	}
}

func TestCheck_ASchemaThatFansOutExponentiallyIsRefusedNotRun(t *testing.T) {
	// d0 uses d1 twice, d1 uses d2 twice, ...: 2^40 evaluations of the
	// last, and as many errors kept, if it were run.
	var defs []string
	for i := range 40 {
		defs = append(defs, fmt.Sprintf(`"d%d":{"anyOf":[{"$ref":"#/$defs/d%d"},{"$ref":"#/$defs/d%d"}]}`, i, i+1, i+1))
	}
	defs = append(defs, `"d40":false`)
	schema := `{"$defs":{` + strings.Join(defs, ",") + `},"$ref":"#/$defs/d0"}`
	start := time.Now()
	r := New(DefaultMaxEntries, DefaultMaxBytes).Check(Schema, []byte(schema), []byte(`{}`))
	assert.Equal(t, Skipped, r.Verdict)
	assert.Contains(t, r.Message, "expands")
	assert.Less(t, time.Since(start), time.Second)
}

func TestCheck_AHugeSchemaIsSkippedWithoutParsing(t *testing.T) {
	schema := `{"enum":["` + strings.Repeat("a", MaxSchemaBytes) + `"]}`
	r := New(DefaultMaxEntries, DefaultMaxBytes).Check(Schema, []byte(schema), []byte(`"a"`))
	assert.Equal(t, Skipped, r.Verdict)
	assert.Contains(t, r.Message, "checks schemas of up to 262144 bytes")
}

func TestCheck_DeeplyNestedSchemasAndTextsDoNotCrash(t *testing.T) {
	for _, depth := range []int{200, 5000, 20000} {
		deep := strings.Repeat(`{"not":`, depth) + `{}` + strings.Repeat(`}`, depth)
		start := time.Now()
		r := New(DefaultMaxEntries, DefaultMaxBytes).Check(Schema, []byte(deep), []byte(`{}`))
		assert.Equal(t, Skipped, r.Verdict, "%+v", r)
		assert.Less(t, time.Since(start), time.Second, "refused before the compiler, whose time grows faster than the depth")
	}
	nested := strings.Repeat(`{"items":`, 60) + `{"type":"integer"}` + strings.Repeat(`}`, 60)
	r := New(DefaultMaxEntries, DefaultMaxBytes).Check(Schema, []byte(nested), []byte(strings.Repeat("[", 60)+`"x"`+strings.Repeat("]", 60)))
	assert.Equal(t, Invalid, r.Verdict, "60 levels are checked: %+v", r)
	deepText := strings.Repeat(`[`, 20000) + strings.Repeat(`]`, 20000)
	// Any verdict will do: what counts is that the check returns.
	_ = New(DefaultMaxEntries, DefaultMaxBytes).Check(Schema, []byte(`{"type":"array"}`), []byte(deepText))
}

func TestChecker_CachesCompiledSchemasWithinItsBounds(t *testing.T) {
	c := New(2, 1<<20)
	for i := range 5 {
		schema := fmt.Sprintf(`{"type":"object","required":["f%d"]}`, i)
		r := c.Check(Schema, []byte(schema), []byte(fmt.Sprintf(`{"f%d":1}`, i)))
		require.Equal(t, Valid, r.Verdict)
	}
	assert.Equal(t, 2, c.Len(), "entries bounded")

	small := New(100, 100)
	for i := range 5 {
		schema := fmt.Sprintf(`{"type":"object","required":["field%d"],"description":"%s"}`, i, strings.Repeat("x", 40))
		small.Check(Schema, []byte(schema), []byte(`{}`))
	}
	assert.Equal(t, 1, small.Len(), "bytes bounded: each schema alone is over half the budget")

	// A schema that cannot be used is remembered too.
	bad := New(10, 1<<20)
	bad.Check(Schema, []byte(`{"$ref":"http://127.0.0.1:1/x"}`), []byte(`{}`))
	bad.Check(Schema, []byte(`{"$ref":"http://127.0.0.1:1/x"}`), []byte(`{}`))
	assert.Equal(t, 1, bad.Len())
}

func TestCompile_ReadsNoFileEvenOneThatExists(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "secret.json")
	require.NoError(t, os.WriteFile(path, []byte(`{"type":"string"}`), 0o600))
	r := New(10, 1<<20).Check(Schema, []byte(`{"$ref":"file://`+path+`"}`), []byte(`"x"`))
	assert.Equal(t, Skipped, r.Verdict)
	assert.NotContains(t, r.Message, `"type"`)
}
