package otlp

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"mime"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/failsafe-go/failsafe-go"
	"github.com/failsafe-go/failsafe-go/retrypolicy"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
)

// userAgent names the exporter to receivers, as the specification asks.
const userAgent = "tollgate-sidecar-otlp-exporter"

// maxResponseBytes bounds what of a receiver's answer is read.
const maxResponseBytes = 64 << 10

// Backoff between the attempts of one export: from initialBackoff,
// doubling up to maxBackoff, each wait drawn between half and all of it.
const (
	initialBackoff = 500 * time.Millisecond
	maxBackoff     = 5 * time.Second
)

// errShutdown is an export after Shutdown.
var errShutdown = errors.New("OTLP exporter is shut down")

// client POSTs export requests of one signal.
type client struct {
	url     string
	headers map[string]string
	timeout time.Duration
	gzip    bool
	http    *http.Client
	// redacted is url without any user info, for errors.
	redacted string
	stopped  atomic.Bool
}

func newClient(cfg Config) (*client, error) {
	if cfg.URL == "" {
		return nil, errors.New("no OTLP endpoint: set OTEL_EXPORTER_OTLP_ENDPOINT")
	}
	u, err := url.Parse(cfg.URL)
	if err != nil {
		return nil, fmt.Errorf("OTLP endpoint: %w", err)
	}
	tr := http.DefaultTransport.(*http.Transport).Clone() // proxies from the environment, HTTP/2 over TLS
	if tr.TLSClientConfig, err = tlsConfig(cfg); err != nil {
		return nil, err
	}
	c := &client{url: cfg.URL, headers: cfg.Headers, timeout: cfg.Timeout, gzip: cfg.Gzip,
		http: &http.Client{Transport: tr}, redacted: u.Redacted()}
	if c.timeout <= 0 {
		c.timeout = DefaultTimeout
	}
	return c, nil
}

// tlsConfig is the TLS of cfg's files; nil when it names none.
func tlsConfig(cfg Config) (*tls.Config, error) {
	if cfg.Certificate == "" && cfg.ClientCertificate == "" {
		return nil, nil
	}
	c := &tls.Config{MinVersion: tls.VersionTLS12}
	if cfg.Certificate != "" {
		pem, err := os.ReadFile(cfg.Certificate)
		if err != nil {
			return nil, fmt.Errorf("OTEL_EXPORTER_OTLP_CERTIFICATE (or its _TRACES_/_METRICS_ variable): %w", err)
		}
		c.RootCAs = x509.NewCertPool()
		if !c.RootCAs.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("OTEL_EXPORTER_OTLP_CERTIFICATE (or its _TRACES_/_METRICS_ variable) %s holds no PEM certificate", cfg.Certificate)
		}
	}
	if cfg.ClientCertificate != "" {
		cert, err := tls.LoadX509KeyPair(cfg.ClientCertificate, cfg.ClientKey)
		if err != nil {
			return nil, fmt.Errorf("OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE and _CLIENT_KEY (or their _TRACES_/_METRICS_ variables): %w", err)
		}
		c.Certificates = []tls.Certificate{cert}
	}
	return c, nil
}

// export sends req and reads the receiver's answer into resp, retrying
// while the receiver is busy or unreachable, within the timeout.
func (c *client) export(ctx context.Context, req, resp proto.Message) error {
	if c.stopped.Load() {
		return errShutdown
	}
	body, err := proto.Marshal(req)
	if err != nil {
		return fmt.Errorf("encode the OTLP export request: %w", err)
	}
	encoding := ""
	if c.gzip {
		var zipped bytes.Buffer
		zw := gzip.NewWriter(&zipped)
		_, _ = zw.Write(body) // a bytes.Buffer does not fail
		_ = zw.Close()
		body, encoding = zipped.Bytes(), "gzip"
	}
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	attempts := 0
	var last, before error // the last attempt's failure, and the one before it
	_, err = failsafe.With(exportRetry).WithContext(ctx).Get(func() (time.Duration, error) {
		attempts++
		retryAfter, err := c.post(ctx, body, encoding, resp)
		last, before = err, last
		return retryAfter, err
	})
	switch {
	case err == nil:
		return nil
	case ctx.Err() != nil && last != nil:
		// The timeout ended the wait for another attempt, or cut one: the
		// last receiver's answer says more than the deadline.
		var busy *retryable
		if errors.As(last, &busy) {
			return fmt.Errorf("%w (given up after %d attempts within %s)", last, attempts, c.timeout)
		}
		if before != nil {
			return fmt.Errorf("%w (attempt %d; the one before: %v)", last, attempts, before)
		}
		return last
	case before != nil:
		return fmt.Errorf("%w (attempt %d; the one before: %v)", err, attempts, before)
	}
	return err
}

// exportRetry retries an export the receiver cannot take now (429, 502,
// 503, 504, or no connection: a *retryable failure), as the OTLP
// specification asks: after the Retry-After the receiver asked for, else
// after a backoff from initialBackoff, doubling up to maxBackoff, each wait
// drawn between half and all of it; until the export's context ends.
var exportRetry = retrypolicy.NewBuilder[time.Duration]().
	WithMaxRetries(-1).
	HandleIf(func(_ time.Duration, err error) bool {
		var busy *retryable
		return errors.As(err, &busy)
	}).
	WithDelayFunc(func(exec failsafe.ExecutionAttempt[time.Duration]) time.Duration {
		if retryAfter := exec.LastResult(); retryAfter > 0 {
			return retryAfter
		}
		d := initialBackoff
		for i := 1; i < exec.Attempts() && d < maxBackoff; i++ {
			d *= 2
		}
		d = min(d, maxBackoff)
		return d/2 + rand.N(d/2+1)
	}).
	ReturnLastFailure().
	Build()

// retryable is a failure worth another attempt.
type retryable struct{ err error }

func (r *retryable) Error() string { return r.err.Error() }
func (r *retryable) Unwrap() error { return r.err }

// post sends body once. A busy receiver's error is *retryable, with the
// wait its Retry-After asks for (0 when it names none).
func (c *client) post(ctx context.Context, body []byte, encoding string, resp proto.Message) (time.Duration, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.url, bytes.NewReader(body))
	if err != nil {
		return 0, err
	}
	for k, v := range c.headers {
		req.Header.Set(k, v)
	}
	req.Header.Set("Content-Type", "application/x-protobuf")
	req.Header.Set("User-Agent", userAgent)
	if encoding != "" {
		req.Header.Set("Content-Encoding", encoding)
	}
	res, err := c.http.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return 0, fmt.Errorf("OTLP export to %s: %w", c.redacted, ctx.Err())
		}
		err = fmt.Errorf("OTLP export to %s: %w", c.redacted, err)
		if untrusted(err) {
			return 0, err // trying again changes nothing
		}
		return 0, &retryable{err}
	}
	defer res.Body.Close()
	answer, _ := io.ReadAll(io.LimitReader(res.Body, maxResponseBytes))
	switch {
	case res.StatusCode/100 == 2:
		// An answer that cannot be read accepted the data all the same.
		_ = proto.Unmarshal(answer, resp)
		return 0, nil
	case res.StatusCode == http.StatusTooManyRequests, res.StatusCode == http.StatusBadGateway,
		res.StatusCode == http.StatusServiceUnavailable, res.StatusCode == http.StatusGatewayTimeout:
		return retryAfter(res.Header.Get("Retry-After")), &retryable{c.statusError(res, answer)}
	}
	return 0, c.statusError(res, answer)
}

// untrusted tells a receiver whose certificate was refused.
func untrusted(err error) bool {
	var verification *tls.CertificateVerificationError
	var authority x509.UnknownAuthorityError
	var hostname x509.HostnameError
	var invalid x509.CertificateInvalidError
	return errors.As(err, &verification) || errors.As(err, &authority) || errors.As(err, &hostname) || errors.As(err, &invalid)
}

func (c *client) statusError(res *http.Response, answer []byte) error {
	err := fmt.Errorf("OTLP export to %s: %s", c.redacted, res.Status)
	var msg string
	switch ct, _, _ := mime.ParseMediaType(res.Header.Get("Content-Type")); ct {
	case "application/x-protobuf":
		msg = statusMessage(answer)
	case "text/plain":
		msg = string(answer)
	}
	if msg = strings.TrimSpace(strings.ToValidUTF8(msg[:min(len(msg), maxMessage)], "?")); msg != "" {
		err = fmt.Errorf("%w: %s", err, msg)
	}
	return err
}

// maxMessage bounds what of a receiver's error message an error repeats.
const maxMessage = 512

// statusMessage is the message of the google.rpc.Status an OTLP receiver
// answers a failed export with (field 2, a string), "" when it has none.
func statusMessage(b []byte) string {
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return ""
		}
		b = b[n:]
		if num == 2 && typ == protowire.BytesType {
			v, n := protowire.ConsumeBytes(b)
			if n < 0 {
				return ""
			}
			return string(v)
		}
		if n = protowire.ConsumeFieldValue(num, typ, b); n < 0 {
			return ""
		}
		b = b[n:]
	}
	return ""
}

// retryAfter reads a Retry-After of seconds; 0 for anything else.
func retryAfter(v string) time.Duration {
	if s, err := strconv.Atoi(v); err == nil && s > 0 {
		return time.Duration(s) * time.Second
	}
	return 0
}

// shutdown stops the client: later exports fail.
func (c *client) shutdown() {
	c.stopped.Store(true)
	c.http.CloseIdleConnections()
}
