package outputcheck

import (
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"

	lru "github.com/hashicorp/golang-lru/v2"
	"github.com/santhosh-tekuri/jsonschema/v6"
	"github.com/santhosh-tekuri/jsonschema/v6/kind"
	"golang.org/x/text/language"
	"golang.org/x/text/message"
)

// Want is what a text must be.
type Want int

// What a text must be.
const (
	// AnyJSON is any JSON value.
	AnyJSON Want = iota
	// Object is a JSON object.
	Object
	// Schema is JSON valid against a JSON Schema.
	Schema
)

// Verdict is the outcome of a check.
type Verdict int

// Verdicts.
const (
	// Valid: the text is what was asked for.
	Valid Verdict = iota
	// Invalid: it is not.
	Invalid
	// Skipped: it could not be judged (the schema is unusable); the
	// answer is to be passed on as it is.
	Skipped
)

// Reasons of a verdict: a fixed set, fit for logs and metric labels.
const (
	ReasonNotJSON        = "not_json"
	ReasonNotObject      = "not_object"
	ReasonSchemaMismatch = "schema_mismatch"
	ReasonSchemaUnusable = "schema_unusable"
)

// Result is a check's verdict.
type Result struct {
	Verdict Verdict
	// Reason is one of the Reason constants; "" when Valid.
	Reason string
	// Message says what was wrong for the app's developer, e.g. "at
	// '/age': got string, want integer". It may quote the answer (a
	// value that missed its pattern), never the schema's source: show it
	// to the app, not in logs.
	Message string
	// Keyword is the JSON Schema keyword the text failed ("type",
	// "required", ...), for logs; "" unless Reason is ReasonSchemaMismatch.
	Keyword string
}

// Bounds of what a Checker takes on.
const (
	// MaxSchemaBytes is the largest schema compiled.
	MaxSchemaBytes = 256 << 10
	// maxSchemaCost bounds a schema's size with its references expanded
	// (vet), which bounds the work of checking one JSON value.
	maxSchemaCost = 100_000
	// maxSchemaDepth bounds the nesting of the schema's JSON (objects and
	// arrays): providers' own limits are far lower (OpenAI's strict mode
	// takes 10 levels of objects).
	maxSchemaDepth = 128
	// DefaultMaxEntries and DefaultMaxBytes bound the cache of compiled
	// schemas: entries, and the sum of the schemas' sizes (a stand-in for
	// the compiled form's memory).
	DefaultMaxEntries = 256
	DefaultMaxBytes   = 8 << 20
)

// Checker checks texts, keeping compiled schemas. It is safe for
// concurrent use.
type Checker struct {
	maxBytes int64

	mu    sync.Mutex // guards cache and bytes
	cache *lru.Cache[[sha256.Size]byte, *compiled]
	bytes int64 // sum of the sizes of the cached schemas
}

// compiled is a schema compiled once, or why it cannot be used.
type compiled struct {
	schema *jsonschema.Schema
	err    error
	size   int64
}

// New returns a Checker caching at most maxEntries schemas of at most
// maxBytes in all.
func New(maxEntries int, maxBytes int64) *Checker {
	c := &Checker{maxBytes: maxBytes}
	c.cache, _ = lru.NewWithEvict(max(maxEntries, 1), func(_ [sha256.Size]byte, v *compiled) {
		c.bytes -= v.size // called under c.mu, by Add and RemoveOldest
	})
	return c
}

// Check judges text. schema is the raw JSON Schema of want Schema.
func (c *Checker) Check(want Want, schema, text []byte) Result {
	if err := syntaxError(text); err != nil {
		return Result{Verdict: Invalid, Reason: ReasonNotJSON, Message: err.Error()}
	}
	switch want {
	case Object:
		if i := firstByte(text); text[i] != '{' {
			return Result{Verdict: Invalid, Reason: ReasonNotObject, Message: "the answer is JSON but not an object, as json_object asks"}
		}
	case Schema:
		sch, err := c.compiled(schema)
		if err != nil {
			return Result{Verdict: Skipped, Reason: ReasonSchemaUnusable, Message: err.Error()}
		}
		v, err := jsonschema.UnmarshalJSON(bytes.NewReader(text))
		if err != nil { // json.Valid said yes: cannot happen
			return Result{Verdict: Invalid, Reason: ReasonNotJSON, Message: "the answer is not valid JSON: " + err.Error()}
		}
		if err := sch.Validate(v); err != nil {
			var ve *jsonschema.ValidationError
			if !errors.As(err, &ve) {
				return Result{Verdict: Invalid, Reason: ReasonSchemaMismatch, Message: "the answer does not match the request's schema"}
			}
			msg, keyword := describe(ve)
			return Result{Verdict: Invalid, Reason: ReasonSchemaMismatch, Keyword: keyword,
				Message: "the answer does not match the request's schema: " + msg}
		}
	}
	return Result{Verdict: Valid}
}

// compiled returns schema compiled, from the cache when it was seen.
func (c *Checker) compiled(schema []byte) (*jsonschema.Schema, error) {
	key := sha256.Sum256(schema)
	c.mu.Lock()
	e, ok := c.cache.Get(key)
	c.mu.Unlock()
	if ok {
		return e.schema, e.err
	}
	// Compiled outside the lock: two requests bringing the same new schema
	// at once compile it twice, and neither waits for the other.
	sch, err := compile(schema)
	e = &compiled{schema: sch, err: err, size: int64(len(schema))}
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.cache.Peek(key); !ok {
		c.cache.Add(key, e)
		c.bytes += e.size
		for c.bytes > c.maxBytes && c.cache.Len() > 1 {
			c.cache.RemoveOldest()
		}
	}
	return sch, err
}

// Len is the number of schemas cached.
func (c *Checker) Len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.cache.Len()
}

// schemaURL is where the request's schema sits for the compiler; no
// loader can fetch it, and references relative to it resolve inside it.
const schemaURL = "urn:tollgate:request-schema"

// compile compiles a request's schema, loading nothing.
func compile(schema []byte) (*jsonschema.Schema, error) {
	if len(schema) > MaxSchemaBytes {
		return nil, fmt.Errorf("the request's schema is %d bytes; the sidecar checks schemas of up to %d bytes", len(schema), MaxSchemaBytes)
	}
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(schema))
	if err != nil {
		return nil, fmt.Errorf("the request's schema is not JSON: %v", err)
	}
	if err := vet(doc); err != nil {
		return nil, err
	}
	comp := jsonschema.NewCompiler()
	comp.UseLoader(refuse{})
	comp.DefaultDraft(jsonschema.Draft2020)
	if err := comp.AddResource(schemaURL, doc); err != nil {
		return nil, fmt.Errorf("the request's schema: %v", err)
	}
	sch, err := comp.Compile(schemaURL)
	if err != nil {
		return nil, fmt.Errorf("the request's schema does not compile: %s", strings.ReplaceAll(err.Error(), schemaURL, "schema"))
	}
	return sch, nil
}

// refuse is the compiler's loader: nothing outside the request is read.
type refuse struct{}

func (refuse) Load(url string) (any, error) {
	return nil, fmt.Errorf("the sidecar loads no schema from %s: only references into the request's own schema are followed", url)
}

// syntaxError says where text stops being JSON, or nil.
func syntaxError(text []byte) error {
	if json.Valid(text) {
		return nil
	}
	if len(bytes.TrimSpace(text)) == 0 {
		return errors.New("the answer has no text where JSON was asked for")
	}
	var raw json.RawMessage
	err := json.Unmarshal(text, &raw)
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return fmt.Errorf("the answer is not valid JSON: %v (at byte %d)", se, se.Offset)
	}
	if err == nil {
		err = errors.New("invalid")
	}
	return fmt.Errorf("the answer is not valid JSON: %v", err)
}

func firstByte(text []byte) int {
	for i, c := range text {
		if c != ' ' && c != '\t' && c != '\n' && c != '\r' {
			return i
		}
	}
	return 0
}

var printer = message.NewPrinter(language.English)

// describe is the first failure of e that says something: where in the
// answer, and what.
func describe(e *jsonschema.ValidationError) (msg, keyword string) {
	for len(e.Causes) > 0 {
		e = e.Causes[0]
	}
	if path := e.ErrorKind.KeywordPath(); len(path) > 0 {
		keyword = path[len(path)-1]
	}
	if _, ok := e.ErrorKind.(*kind.Schema); ok {
		return e.ErrorKind.LocalizedString(printer), keyword
	}
	return fmt.Sprintf("at '%s': %s", pointer(e.InstanceLocation), e.ErrorKind.LocalizedString(printer)), keyword
}

// pointer is a JSON pointer of tokens.
func pointer(tokens []string) string {
	var b strings.Builder
	for _, t := range tokens {
		b.WriteByte('/')
		b.WriteString(strings.NewReplacer("~", "~0", "/", "~1").Replace(t))
	}
	return b.String()
}
