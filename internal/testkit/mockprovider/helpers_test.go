package mockprovider_test

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"syscall"
	"testing"

	"github.com/stretchr/testify/require"

	"tollgate.dev/tollgate/internal/testkit/mockprovider"
)

// startMock starts a mock on 127.0.0.1 that the test closes.
func startMock(t *testing.T, opts ...mockprovider.Option) *mockprovider.Server {
	t.Helper()
	srv, err := mockprovider.Start("127.0.0.1:0", opts...)
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, srv.Close()) })
	return srv
}

// newClient is an HTTP client with its own connections, so that a fault
// injected into one test's connection cannot leak into another's.
func newClient(t *testing.T) *http.Client {
	t.Helper()
	tr := &http.Transport{}
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr}
}

// post sends body to srv's path and returns the response, which the test
// closes.
func post(t *testing.T, ctx context.Context, client *http.Client, url, body string) (*http.Response, error) {
	t.Helper()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, strings.NewReader(body))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/json")
	resp, err := client.Do(req)
	if err == nil {
		t.Cleanup(func() { _ = resp.Body.Close() })
	}
	return resp, err
}

// mustPost is post for requests that must get a response.
func mustPost(t *testing.T, url, body string) *http.Response {
	t.Helper()
	resp, err := post(t, context.Background(), newClient(t), url, body)
	require.NoError(t, err)
	return resp
}

// sseEvent is one server-sent event.
type sseEvent struct {
	Name string // the event: field, "" when absent
	Data string
}

// readSSE reads events until the body ends. It returns the complete
// events read and nil on a clean end, or the error that ended the body.
// An event cut short before its blank line is not returned.
func readSSE(body io.Reader) ([]sseEvent, error) {
	br := bufio.NewReader(body)
	var events []sseEvent
	var cur sseEvent
	for {
		line, err := br.ReadString('\n')
		if err != nil {
			if errors.Is(err, io.EOF) && line == "" {
				return events, nil
			}
			if errors.Is(err, io.EOF) {
				err = io.ErrUnexpectedEOF
			}
			return events, err
		}
		line = strings.TrimRight(line, "\r\n")
		switch {
		case line == "":
			if cur != (sseEvent{}) {
				events = append(events, cur)
				cur = sseEvent{}
			}
		case strings.HasPrefix(line, "event:"):
			cur.Name = strings.TrimSpace(strings.TrimPrefix(line, "event:"))
		case strings.HasPrefix(line, "data:"):
			if cur.Data != "" {
				cur.Data += "\n"
			}
			cur.Data += strings.TrimPrefix(strings.TrimPrefix(line, "data:"), " ")
		}
	}
}

// isConnectionError reports whether err is what a client sees when the
// connection breaks: a reset, or an unexpected end.
func isConnectionError(err error) bool {
	return errors.Is(err, syscall.ECONNRESET) || errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF)
}
