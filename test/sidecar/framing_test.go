package sidecare2e

import (
	"fmt"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"tollgate.dev/tollgate/pkg/llmclient"
)

// shortTotal is a policy whose requests may take a second in all.
const shortTotal = "  timeouts: {connect: 1s, firstToken: 1s, total: 1s}\n"

func TestSlowClient_ABodyTrickledPastTheTotalTimeoutIsRefusedAndItsConnectionClosed(t *testing.T) {
	mock := startMock(t)
	sc := startWithSpec(t, mock, shortTotal)
	conn, br := sc.dial()

	// Headers at once, then the body a byte at a time: 100 kB would take
	// the client over an hour.
	_, err := fmt.Fprintf(conn, "POST /openai/v1/chat/completions HTTP/1.1\r\nHost: sidecar\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n{")
	require.NoError(t, err)
	stop := make(chan struct{})
	defer close(stop)
	go func() {
		for {
			select {
			case <-stop:
				return
			case <-time.After(50 * time.Millisecond):
			}
			if _, err := conn.Write([]byte(" ")); err != nil {
				return
			}
		}
	}()

	resp, err := http.ReadResponse(br, nil)
	require.NoError(t, err, "the sidecar must answer at the total timeout, not wait for the body")
	assert.Equal(t, http.StatusRequestTimeout, resp.StatusCode)
	assert.Equal(t, llmclient.CodeTimeout, resp.Header.Get(llmclient.HeaderReason))
	assert.Equal(t, "0", resp.Header.Get(llmclient.HeaderAttempts))
	_, message := openAIErrorOf(t, resp)
	assert.Contains(t, message, "the request body did not arrive within the total timeout of 1s")
	_, err = io.ReadAll(br)
	require.NoError(t, err, "the connection is closed (EOF), not held open for the rest of the body")
	assert.Zero(t, mock.Received())
}

func TestFraming_ARequestWithBothContentLengthAndTransferEncodingClosesItsConnection(t *testing.T) {
	mock := startMock(t)
	sc := startWithSpec(t, mock, "")
	conn, br := sc.dial()

	// Something on the way that framed this by its Content-Length would
	// take the chunked body for the start of another request; RFC 9112
	// §6.1 has the server serve it by Transfer-Encoding and then close.
	body := chatBody("gpt-4o-mini")
	_, err := fmt.Fprintf(conn, "POST /openai/v1/chat/completions HTTP/1.1\r\nHost: sidecar\r\nContent-Type: application/json\r\n"+
		"Content-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n%x\r\n%s\r\n0\r\n\r\n"+
		"GET /openai/v1/models HTTP/1.1\r\nHost: sidecar\r\n\r\n", len(body), body)
	require.NoError(t, err)

	resp, err := http.ReadResponse(br, nil)
	require.NoError(t, err)
	assert.Equal(t, http.StatusOK, resp.StatusCode, "served by its Transfer-Encoding")
	assert.True(t, resp.Close, "the answer says Connection: close")
	_, err = io.Copy(io.Discard, resp.Body)
	require.NoError(t, err)

	_, err = br.Peek(1)
	require.ErrorIs(t, err, io.EOF, "the pipelined request must not be served on the same connection")
	assert.Equal(t, int64(1), mock.Received())
}
