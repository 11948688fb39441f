// Package outputcheck judges whether the text of an answer is the
// structured output its request asked for: valid JSON, a JSON object, or
// JSON valid against the request's own JSON Schema.
//
// Schemas come from apps' requests, so they are compiled defensively with
// github.com/santhosh-tekuri/jsonschema/v6 (every draft from 4 to 2020-12,
// Go's linear-time regexp engine):
//
//   - at most MaxSchemaBytes of schema;
//   - nothing is ever loaded from outside the request: a $ref that is not
//     a pointer into the schema itself ("#", "#/$defs/x"), a $dynamicRef,
//     a $recursiveRef, a nested $id or a $schema that is not one of the
//     drafts' own meta-schemas makes the schema unusable, and the answer is
//     passed on unchecked (no file is read, no URL fetched);
//   - the work one check can take is bounded before it starts: the
//     schema's size with every $ref expanded (a schema whose references
//     fan out exponentially is refused, not run).
//
// Compiled schemas, and the verdict that a schema is unusable, are kept in
// a bounded LRU keyed by the schema's SHA-256, so that the schema of a
// request an app sends again is compiled once.
//
// It imports nothing of Tollgate's: pkg/llmclient reads formats and texts
// with pkg/provider and asks a Checker.
package outputcheck
