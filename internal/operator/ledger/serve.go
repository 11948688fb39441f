package ledger

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"sigs.k8s.io/controller-runtime/pkg/certwatcher"
)

// Server serves a Ledger over HTTPS, with the operator's serving
// certificate (the webhook's, whose names include the ledger's Service),
// reloaded when it is renewed. As a manager Runnable it runs on the leader
// only: another replica does not listen, so a sidecar that reaches it is
// refused at once and tries again, and finds the new leader after a
// leader change by itself.
type Server struct {
	// Ledger is what is served.
	Ledger *Ledger
	// Addr is the listen address, e.g. ":8443".
	Addr string
	// CertDir holds tls.crt and tls.key.
	CertDir string
	// CertsReady, when set, closes once the certificate files are in
	// place (the operator's rotator wrote them); when nil, Start waits
	// for tls.crt to appear.
	CertsReady <-chan struct{}
	// OnLead, when set, runs once this replica leads and listens: the
	// operator labels its pod so that the ledger Service selects it.
	OnLead func(context.Context) error
	// Ready, when set, is closed once the server listens.
	Ready chan struct{}
	// Addrs, when set, receives the address the server listens on.
	Addrs chan<- net.Addr
}

// NeedLeaderElection is true: only the leader serves the ledger, so that
// one process sums a policy's spend.
func (s *Server) NeedLeaderElection() bool { return true }

// Start serves until ctx ends, then writes every book a last time.
func (s *Server) Start(ctx context.Context) error {
	if err := s.waitForCerts(ctx); err != nil {
		return nil // stopped before the certificate came
	}
	watcher, err := certwatcher.New(filepath.Join(s.CertDir, "tls.crt"), filepath.Join(s.CertDir, "tls.key"))
	if err != nil {
		return fmt.Errorf("budget ledger: load the serving certificate from %s: %w", s.CertDir, err)
	}
	go func() { _ = watcher.Start(ctx) }()
	ln, err := net.Listen("tcp", s.Addr)
	if err != nil {
		return fmt.Errorf("budget ledger: listen on %s: %w", s.Addr, err)
	}
	srv := &http.Server{
		Handler:           s.Ledger.Handler(),
		TLSConfig:         &tls.Config{MinVersion: tls.VersionTLS12, GetCertificate: watcher.GetCertificate},
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    16 << 10,
	}
	committed := make(chan error, 1)
	go func() { committed <- s.Ledger.Run(ctx) }()
	s.Ledger.opts.Log.Info("budget ledger serving", "address", ln.Addr().String())
	if s.Addrs != nil {
		s.Addrs <- ln.Addr()
	}
	if s.OnLead != nil {
		if err := s.OnLead(ctx); err != nil {
			s.Ledger.opts.Log.Error(err, "the ledger Service may not find this leader; sidecars configured with its address still do")
		}
	}
	if s.Ready != nil {
		close(s.Ready)
	}
	served := make(chan error, 1)
	go func() { served <- srv.ServeTLS(ln, "", "") }()
	select {
	case <-ctx.Done():
	case err := <-served:
		if !errors.Is(err, http.ErrServerClosed) {
			return fmt.Errorf("budget ledger: %w", err)
		}
	}
	// Stop taking syncs while the books are written a last time; the syncs
	// that last write does not cover are answered "not durable" and sent
	// again, to the next leader.
	shutdown, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	stopped := make(chan struct{})
	go func() { _ = srv.Shutdown(shutdown); close(stopped) }()
	err = <-committed
	<-stopped
	return err
}

// waitForCerts returns once the serving certificate can be loaded, or ctx
// ends.
func (s *Server) waitForCerts(ctx context.Context) error {
	if s.CertsReady != nil {
		select {
		case <-s.CertsReady:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	logged := false
	for {
		if _, err := os.Stat(filepath.Join(s.CertDir, "tls.crt")); err == nil {
			return nil
		}
		if !logged {
			s.Ledger.opts.Log.Info("budget ledger waiting for its serving certificate", "dir", s.CertDir)
			logged = true
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(time.Second):
		}
	}
}
