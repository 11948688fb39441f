package ledger

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync"
	"time"

	"tollgate.dev/tollgate/pkg/ledgerapi"
)

// requestTimeout bounds one exchange with the ledger: a sync waits for the
// ledger's next status write (a few seconds).
const requestTimeout = 20 * time.Second

// RefusedError is the ledger's refusal of a request.
type RefusedError struct {
	Status  int
	Code    string
	Message string
}

func (e *RefusedError) Error() string {
	return fmt.Sprintf("the budget ledger refused (%d %s): %s", e.Status, e.Code, e.Message)
}

// retryable reports whether the request may succeed later as it is: the
// ledger was busy, not the leader, or not reachable.
func retryable(err error) bool {
	var r *RefusedError
	if errors.As(err, &r) {
		return r.Status >= 500
	}
	return true
}

// client talks to the ledger at one of several URLs: the leader's Service
// in a cluster, or every replica's address where there is no Service. A
// URL that fails moves the client to the next.
type client struct {
	urls      []string
	tokenFile string
	http      *http.Client

	mu  sync.Mutex // guards cur
	cur int
}

// newClient returns a client for urls, trusting the CA certificates in
// caFile (the operator's serving CA, from the bundle ConfigMap).
func newClient(urls []string, caFile, tokenFile string) (*client, error) {
	if len(urls) == 0 {
		return nil, errors.New("no budget ledger URL")
	}
	for _, u := range urls {
		if p, err := url.Parse(u); err != nil || p.Scheme != "https" || p.Host == "" {
			return nil, fmt.Errorf("ledger URL %q must be an https URL such as https://tollgate-ledger.tollgate-system.svc:8443", u)
		}
	}
	pool := x509.NewCertPool()
	pem, err := os.ReadFile(caFile)
	if err != nil {
		return nil, fmt.Errorf("read the ledger's CA certificate: %w", err)
	}
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("%s holds no PEM certificate", caFile)
	}
	tr := &http.Transport{
		TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12},
		// HTTP/2, so that a sync given up on (superseded by one that asks
		// for a waiting request's allowance) resets its stream, not the
		// connection: a new TLS handshake with the ledger for every
		// superseded sync would load the ledger most when requests wait.
		ForceAttemptHTTP2:   true,
		MaxIdleConnsPerHost: 2,
		IdleConnTimeout:     90 * time.Second,
		TLSHandshakeTimeout: 5 * time.Second,
	}
	return &client{urls: urls, tokenFile: tokenFile, http: &http.Client{Transport: tr, Timeout: requestTimeout}}, nil
}

// sync sends one sync.
func (c *client) sync(ctx context.Context, req ledgerapi.SyncRequest) (ledgerapi.SyncReply, error) {
	body, err := json.Marshal(req)
	if err != nil {
		return ledgerapi.SyncReply{}, err
	}
	var reply ledgerapi.SyncReply
	err = c.do(ctx, http.MethodPost, ledgerapi.SyncPath, body, &reply)
	return reply, err
}

// bundle fetches the namespace's bundle, waiting for a change from known.
// It returns nil when the bundle did not change within the wait.
func (c *client) bundle(ctx context.Context, known string) (*ledgerapi.BundleReply, error) {
	var reply ledgerapi.BundleReply
	err := c.do(ctx, http.MethodGet, ledgerapi.BundlePath+"?known="+url.QueryEscape(known), nil, &reply)
	var r *RefusedError
	switch {
	case errors.As(err, &r) && r.Status == http.StatusNotModified:
		return nil, nil
	case err != nil:
		return nil, err
	}
	return &reply, nil
}

func (c *client) do(ctx context.Context, method, path string, body []byte, out any) error {
	token, err := os.ReadFile(c.tokenFile) // the kubelet rotates it
	if err != nil {
		return fmt.Errorf("read the pod's ServiceAccount token: %w", err)
	}
	c.mu.Lock()
	base := c.urls[c.cur]
	c.mu.Unlock()
	timeout := requestTimeout
	if path != ledgerapi.SyncPath {
		timeout = ledgerapi.BundleWait + 5*time.Second
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, base+path, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+strings.TrimSpace(string(token)))
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	hc := *c.http
	hc.Timeout = timeout
	resp, err := hc.Do(req)
	if err != nil {
		c.next(base)
		return fmt.Errorf("reach the budget ledger at %s: %w", base, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 8<<20))
	if err != nil {
		c.next(base)
		return fmt.Errorf("read the budget ledger's answer: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		r := &RefusedError{Status: resp.StatusCode}
		var body ledgerapi.Error
		if json.Unmarshal(data, &body) == nil && body.Code != "" {
			r.Code, r.Message = body.Code, body.Message
		} else {
			r.Code, r.Message = http.StatusText(resp.StatusCode), strings.TrimSpace(string(data))
		}
		if r.Code == ledgerapi.CodeNotLeader || resp.StatusCode == http.StatusBadGateway {
			c.next(base)
		}
		return r
	}
	if err := json.Unmarshal(data, out); err != nil {
		return fmt.Errorf("the budget ledger's answer does not decode: %w", err)
	}
	return nil
}

// next moves to the URL after failed, unless another call moved already.
func (c *client) next(failed string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.urls[c.cur] == failed {
		c.cur = (c.cur + 1) % len(c.urls)
	}
}
