// Package plainproxy is the benchmark's baseline: a plain
// net/http/httputil.ReverseProxy with the same connection settings as the
// sidecar's upstream transport and nothing else, the floor any Go proxy
// sits on. It strips a path prefix as the sidecar strips the provider
// name (/openai/v1/chat/completions goes to <upstream>/v1/chat/completions),
// so that both proxies are called the same way.
package plainproxy

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strings"
	"time"
)

// New returns a ReverseProxy that sends requests to upstream, without
// prefix on their paths.
func New(upstream *url.URL, prefix string) *httputil.ReverseProxy {
	dialer := &net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}
	return &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.Out.URL.Path = strings.TrimPrefix(pr.Out.URL.Path, prefix)
			pr.Out.URL.RawPath = ""
			pr.SetURL(upstream)
			if pr.Out.Body != nil && pr.Out.ContentLength > 0 {
				pr.Out.Body = &declaredBody{ReadCloser: pr.Out.Body, left: pr.Out.ContentLength}
			}
		},
		// The sidecar's upstream transport (pkg/llmclient), minus the proxy
		// from the environment.
		Transport: &http.Transport{
			DialContext:           dialer.DialContext,
			ForceAttemptHTTP2:     true,
			MaxIdleConns:          1024,
			MaxIdleConnsPerHost:   256,
			IdleConnTimeout:       90 * time.Second,
			ExpectContinueTimeout: time.Second,
		},
	}
}

// declaredBody ends a request body at its declared length without
// reading the inbound body again. Without it, a plain ReverseProxy cuts
// streams short now and then (golang/go#40747): once the upstream answers,
// writing the answer's headers closes the inbound body, and the upstream
// transport's last read, which checks that the body is not longer than
// declared, then fails and tears down the upstream connection mid-answer.
type declaredBody struct {
	io.ReadCloser
	left int64 // bytes of the declared length not read yet
}

func (b *declaredBody) Read(p []byte) (int, error) {
	if b.left <= 0 {
		return 0, io.EOF
	}
	if int64(len(p)) > b.left {
		p = p[:b.left]
	}
	n, err := b.ReadCloser.Read(p)
	b.left -= int64(n)
	if b.left <= 0 && err == nil {
		err = io.EOF
	}
	return n, err
}

// Main serves the proxy as args say until ctx ends, printing its URL to
// stdout first.
func Main(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("plainproxy", flag.ContinueOnError)
	fs.SetOutput(stderr)
	listen := fs.String("listen", "127.0.0.1:0", "`address` to serve on")
	upstream := fs.String("upstream", "", "`URL` to send requests to (required), e.g. http://127.0.0.1:8089")
	prefix := fs.String("strip-prefix", "/openai", "path `prefix` removed before forwarding")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return err
	}
	target, err := url.Parse(*upstream)
	if err != nil || target.Scheme == "" || target.Host == "" {
		return fmt.Errorf("--upstream %q is not an absolute URL: pass e.g. --upstream http://127.0.0.1:8089", *upstream)
	}
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		return fmt.Errorf("listen on --listen %s: %w", *listen, err)
	}
	srv := &http.Server{Handler: New(target, *prefix), ReadHeaderTimeout: 10 * time.Second}
	fmt.Fprintf(stdout, "http://%s\n", ln.Addr())
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return srv.Shutdown(shutdownCtx)
}
