package ledgerbench

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"time"

	"tollgate.dev/tollgate/bench/internal/fleet"
	"tollgate.dev/tollgate/internal/testkit/proc"
	"tollgate.dev/tollgate/internal/testkit/testenv"
)

// operatorPackage is the program under test.
const operatorPackage = "./cmd/operator"

// operatorNamespace is the operator's own namespace; with neither leader
// election nor the webhook, nothing is created in it.
const operatorNamespace = "tollgate-system"

// buildOperator compiles cmd/operator into dir, as a release build would.
func buildOperator(ctx context.Context, root, dir string) (string, error) {
	bins, err := proc.Build(ctx, root, dir, false, operatorPackage)
	if err != nil {
		return "", err
	}
	return bins[operatorPackage], nil
}

// operator is the running operator binary: its ledger and metrics.
type operator struct {
	p *fleet.Process
	// ledgerURL is what sidecars are told; caFile the CA they trust.
	ledgerURL, caFile string
	metricsURL        string
}

// startOperator runs the operator binary against the cluster of
// kubeconfig, with its ledger on a loopback port and a serving certificate
// of its own in dir, and waits until the ledger listens. The injection
// webhook is off: no webhook configuration is ever installed.
func startOperator(ctx context.Context, bin, kubeconfig, dir, name string, commit time.Duration) (*operator, error) {
	certDir := filepath.Join(dir, name+"-certs")
	if err := mkdir(certDir); err != nil {
		return nil, err
	}
	if err := testenv.ServingCert(certDir, "127.0.0.1"); err != nil {
		return nil, fmt.Errorf("serving certificate for the ledger: %w", err)
	}
	addrs := make([]string, 3)
	for i := range addrs {
		a, err := fleet.FreeAddr()
		if err != nil {
			return nil, err
		}
		addrs[i] = a
	}
	ledgerAddr, metricsAddr, healthAddr := addrs[0], addrs[1], addrs[2]
	op := &operator{ledgerURL: "https://" + ledgerAddr, caFile: filepath.Join(certDir, "ca.crt"), metricsURL: "http://" + metricsAddr + "/metrics"}
	p, err := fleet.Start(ctx, fleet.Spec{
		Name: name, Path: bin, CPU: fleet.NoCPU, LogDir: dir,
		Env: []string{"KUBECONFIG=" + kubeconfig},
		Args: []string{
			"--enable-webhook=false", "--leader-elect=false", "--namespace=" + operatorNamespace,
			"--ledger-bind-address=" + ledgerAddr, "--ledger-cert-dir=" + certDir, "--ledger-url=" + op.ledgerURL,
			"--ledger-commit-interval=" + commit.String(),
			"--metrics-bind-address=" + metricsAddr, "--health-probe-bind-address=" + healthAddr,
		},
	})
	if err != nil {
		return nil, err
	}
	op.p = p
	if err := p.WaitReady(ctx, "http://"+healthAddr+"/readyz", time.Minute); err != nil {
		p.Stop()
		return nil, err
	}
	if err := waitListening(ctx, p, ledgerAddr, 30*time.Second); err != nil {
		p.Stop()
		return nil, err
	}
	return op, nil
}

// waitListening waits until addr accepts connections.
func waitListening(ctx context.Context, p *fleet.Process, addr string, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		conn, err := (&net.Dialer{Timeout: time.Second}).DialContext(ctx, "tcp", addr)
		if err == nil {
			_ = conn.Close()
			return nil
		}
		if _, merr := p.Memory(); merr != nil {
			return merr // it exited: the error says so, with its log
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			return fmt.Errorf("%s: the ledger does not listen on %s after %s", p.Name, addr, timeout)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// scrape reads the operator's /metrics.
func (o *operator) scrape(ctx context.Context) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, o.metricsURL, nil)
	if err != nil {
		return "", err
	}
	resp, err := metricsClient.Do(req)
	if err != nil {
		return "", fmt.Errorf("read the operator's metrics: %w", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return "", fmt.Errorf("read the operator's metrics: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("read the operator's metrics: status %d", resp.StatusCode)
	}
	return string(body), nil
}

var metricsClient = &http.Client{Transport: &http.Transport{Proxy: nil}}

func (o *operator) stop() { o.p.Stop() }
