package testenv

import (
	"fmt"
	"os"
	"testing"
)

// Main is a TestMain for a package whose tests share one control plane:
// it starts it into *env, runs the tests, stops it, and exits with the
// tests' code.
func Main(m *testing.M, env **Env) {
	e, err := Start()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	*env = e
	code := m.Run()
	if err := e.Stop(); err != nil {
		fmt.Fprintln(os.Stderr, "stop control plane:", err)
	}
	os.Exit(code)
}
