package sidecare2e

import (
	"bufio"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// rawWait bounds how long a raw exchange may take: a sidecar that holds a
// connection it should have answered or closed fails the test instead of
// hanging it.
const rawWait = 10 * time.Second

// dial opens a raw connection to the proxy, for what an SDK would hide:
// paths it would clean, framing it would never send, a body it would not
// trickle. The connection is closed at the end of the test.
func (s *sidecar) dial() (net.Conn, *bufio.Reader) {
	s.t.Helper()
	conn, err := net.Dial("tcp", strings.TrimPrefix(s.url, "http://"))
	require.NoError(s.t, err)
	s.t.Cleanup(func() { _ = conn.Close() })
	require.NoError(s.t, conn.SetDeadline(time.Now().Add(rawWait)))
	return conn, bufio.NewReader(conn)
}

// rawRequestID is the X-Request-Id of rawPost's requests.
const rawRequestID = "raw-1"

// rawPost is a POST of body to target (the request line's path and
// query, sent exactly as written) with a Content-Length, on a connection
// of its own.
func rawPost(target, body string) string {
	return fmt.Sprintf("POST %s HTTP/1.1\r\nHost: sidecar\r\nContent-Type: application/json\r\nAuthorization: Bearer %s\r\nX-Request-Id: %s\r\nContent-Length: %d\r\nConnection: close\r\n\r\n%s",
		target, appKey, rawRequestID, len(body), body)
}

// send writes raw requests on a new connection and reads one answer.
func (s *sidecar) send(raw string) *http.Response {
	s.t.Helper()
	conn, br := s.dial()
	_, err := conn.Write([]byte(raw))
	require.NoError(s.t, err)
	resp, err := http.ReadResponse(br, nil)
	require.NoError(s.t, err)
	s.t.Cleanup(func() { _ = resp.Body.Close() })
	return resp
}

// chatBody is an OpenAI chat request for model.
func chatBody(model string) string {
	return fmt.Sprintf(`{"model":%q,"messages":[{"role":"user","content":"Say hello"}]}`, model)
}

// openAIErrorOf decodes an OpenAI-shaped error body.
func openAIErrorOf(t *testing.T, resp *http.Response) (code, message string) {
	t.Helper()
	var e struct {
		Error struct {
			Code    string `json:"code"`
			Message string `json:"message"`
		} `json:"error"`
	}
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&e))
	return e.Error.Code, e.Error.Message
}
