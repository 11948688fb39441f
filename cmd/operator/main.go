// Command tollgate-operator renders LLMPolicies into sidecar config and
// injects the Tollgate sidecar into selected pods. See
// `tollgate-operator --help` and the README.
package main

import (
	"os"

	"tollgate.dev/tollgate/internal/operator"
)

func main() {
	os.Exit(operator.Main(os.Args[1:]))
}
