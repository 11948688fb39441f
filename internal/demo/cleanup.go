package demo

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"strings"
	"sync"
	"time"

	"tollgate.dev/tollgate/internal/testkit/proc"
)

// cleanupStep is the demo's last step, run whatever happened before it.
func (d *demo) cleanupStep() step {
	return step{title: "cleanup", expected: "processes stopped, ports closed, files removed",
		run: d.cleanup, timeout: cleanupTimeout}
}

// cleanup stops what the demo started, in the reverse order, removes its
// files, and checks that nothing still listens where it did.
func (d *demo) cleanup(ctx context.Context) (string, error) {
	var errs []error
	var stopped, listened []string
	var sidecars []*proc.Process
	for _, p := range d.pods {
		if p.sidecar != nil {
			sidecars = append(sidecars, p.sidecar)
			listened = append(listened, p.proxyAddr, p.adminAddr)
		}
	}
	// The sidecars stop together, each reporting what is left and giving
	// its pod's allowance back to the ledger: the operator stops after
	// them. Each goroutine writes its own slot of stopErrs.
	stopErrs := make([]error, len(sidecars))
	var wg sync.WaitGroup
	for i, s := range sidecars {
		wg.Go(func() { stopErrs[i] = s.Stop(stopGrace) })
	}
	wg.Wait()
	errs = append(errs, stopErrs...)
	switch n := len(sidecars); {
	case n == 1:
		stopped = append(stopped, "sidecar")
	case n > 1:
		stopped = append(stopped, fmt.Sprintf("%d sidecars", n))
	}
	if d.operator != nil {
		listened = append(listened, d.ledgerAddr)
		errs = append(errs, d.operator.Stop(stopGrace))
		stopped = append(stopped, "operator")
	}
	if d.mock != nil {
		listened = append(listened, strings.TrimPrefix(d.mock.URL(), "http://"))
		errs = append(errs, d.mock.Close())
		stopped = append(stopped, "mock")
	}
	if d.env != nil {
		listened = append(listened, d.apiServer, fmt.Sprintf("127.0.0.1:%d", d.env.Webhooks.LocalServingPort))
		if err := d.env.Stop(); err != nil {
			errs = append(errs, fmt.Errorf("stop the control plane: %w", err))
		}
		stopped = append(stopped, "apiserver", "etcd")
	}
	// The build may still run when the demo ended early; it writes into
	// the directory about to be removed.
	select {
	case <-d.buildDone:
	case <-ctx.Done():
		errs = append(errs, fmt.Errorf("the build of the binaries did not stop: %w", ctx.Err()))
	}
	if err := os.RemoveAll(d.work); err != nil {
		errs = append(errs, fmt.Errorf("remove %s: %w", d.work, err))
	}
	closed := 0
	for _, addr := range listened {
		if addr == "" {
			continue
		}
		conn, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			_ = conn.Close()
			errs = append(errs, fmt.Errorf("something still listens on %s", addr))
			continue
		}
		closed++
	}
	if err := errors.Join(errs...); err != nil {
		return "", err
	}
	d.say.say("by hand: Ctrl-C the sidecars, the operator and the mock provider; the control plane's etcd data was temporary")
	if len(stopped) == 0 {
		return fmt.Sprintf("nothing had started; %s removed", d.work), nil
	}
	d.say.say("removed %s", d.work)
	return fmt.Sprintf("stopped %s; %d ports closed", strings.Join(stopped, ", "), closed), nil
}
