// Package validation defaults and validates LLMPolicy objects that did not
// come through the API server: the standalone sidecar's policy file. It is
// the one Go copy of the CRD's defaults, bounds and CEL rules (the markers
// in api/v1alpha1 are the API server's copy), with the same field paths and
// messages; test/crd runs every rejection case through both.
//
// USD amounts are the exception: their syntax has one Go home, the
// contract's money type (proxyconfig.ParseUSD), which translation applies.
package validation
