// Command tollgate-sidecar enforces an LLMPolicy on the LLM calls of the
// app beside it. See `tollgate-sidecar --help` and the README.
package main

import (
	"os"

	"tollgate.dev/tollgate/internal/sidecar"
)

func main() {
	os.Exit(sidecar.Main(os.Args[1:]))
}
