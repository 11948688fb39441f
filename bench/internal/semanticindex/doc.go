// Package semanticindex measures the semantic cache's index choice: the
// exact search semantic.Store does against an approximate HNSW index
// (github.com/coder/hnsw, the maintained pure-Go one), on the same
// vectors, and checks whether that HNSW library survives the deletes a
// bounded cache makes on every eviction. Nothing in the sidecar imports
// it.
//
//	go test -run '^$' -bench . ./bench/internal/semanticindex
//	go test -run TestHNSW ./bench/internal/semanticindex
package semanticindex
