// Command tollgate-bench measures what tollgate-sidecar adds to LLM calls
// against calling the mock provider directly and through a plain
// httputil.ReverseProxy, beside the Portkey gateway. See bench/README.md.
package main

import (
	"os"

	"tollgate.dev/tollgate/bench/internal/harness"
)

func main() {
	os.Exit(harness.Main(os.Args[1:], os.Stdout, os.Stderr))
}
