// Command tollgate-ledger-bench measures the operator's budget ledger under
// many simulated sidecars, against a real kube-apiserver and etcd. See
// bench/README.md.
package main

import (
	"os"

	"tollgate.dev/tollgate/bench/internal/ledgerbench"
)

func main() {
	os.Exit(ledgerbench.Main(os.Args[1:], os.Stdout, os.Stderr))
}
