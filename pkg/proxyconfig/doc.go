// Package proxyconfig is the contract between the operator and the sidecar:
// the rendered bundle of policies a sidecar enforces. It is plain data with
// Validate methods and a versioned JSON encoding, and imports nothing of
// Kubernetes, so the sidecar and the resilient client library depend on it
// alone. internal/translate produces it from LLMPolicy objects.
//
// Values are typed and parsed once, when a bundle is read: durations are
// Duration, encoded as Go duration strings ("1m30s"); money is USD, an exact
// decimal encoded as a decimal string ("19.99"), so that a bundle can be
// read and diffed by people. Later layers trust a bundle that passed
// Validate and do not check it again.
package proxyconfig
