package load

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"time"
)

// Request is the call each load generator sends: a POST of Body to URL.
type Request struct {
	// URL is the full URL of the chat completions endpoint of a target.
	URL string
	// Body is the JSON request body.
	Body []byte
	// Header is sent besides Content-Type, e.g. the headers that tell a
	// gateway where to send the request; nil sends none.
	Header http.Header
}

// NewClient returns an HTTP client that keeps up to conns connections per
// target open, so that connection set-up is paid once per connection and
// not per request, as an app's SDK does. It never uses an HTTP proxy from
// the environment.
func NewClient(conns int) *http.Client {
	dialer := &net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}
	return &http.Client{Transport: &http.Transport{
		Proxy:               nil,
		DialContext:         dialer.DialContext,
		MaxIdleConns:        conns,
		MaxIdleConnsPerHost: conns,
		IdleConnTimeout:     90 * time.Second,
		DisableCompression:  true,
	}}
}

// post sends r and returns the answer when its status is 200; otherwise
// it closes the body and says what went wrong.
func post(ctx context.Context, client *http.Client, r Request) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, r.URL, bytes.NewReader(r.Body))
	if err != nil {
		return nil, fmt.Errorf("build request for %s: %w", r.URL, err)
	}
	for k, vs := range r.Header {
		req.Header[k] = vs
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := client.Do(req)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		_ = resp.Body.Close()
		return nil, fmt.Errorf("status %d from %s: %s", resp.StatusCode, r.URL, bytes.TrimSpace(body))
	}
	return resp, nil
}

// Send sends r and reads the whole answer; an answer other than 200 is an
// error.
func Send(ctx context.Context, client *http.Client, r Request) error {
	resp, err := post(ctx, client, r)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if _, err := io.Copy(io.Discard, resp.Body); err != nil {
		return fmt.Errorf("read answer from %s: %w", r.URL, err)
	}
	return nil
}

// sleepUntil waits until t or until ctx ends, and tells whether t came.
func sleepUntil(ctx context.Context, timer *time.Timer, t time.Time) bool {
	d := time.Until(t)
	if d <= 0 {
		return ctx.Err() == nil
	}
	timer.Reset(d)
	select {
	case <-ctx.Done():
		timer.Stop()
		return false
	case <-timer.C:
		return true
	}
}
