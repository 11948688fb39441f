package operator

import (
	"fmt"
	"sync/atomic"
)

// Tests run several operators in one process; controller names must be
// unique per process otherwise.
func init() {
	skipControllerNameValidation = true
	var rotators atomic.Int64
	certRotatorName = func() string { return fmt.Sprintf("cert-rotator-%d", rotators.Add(1)) }
}
