package mockprovider_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"tollgate.dev/tollgate/internal/testkit/mockprovider"
)

const chatStreamBody = `{"model":"m","stream":true}`

func TestServer_DelaysAreHonoured(t *testing.T) {
	tests := map[string]struct {
		step    mockprovider.Step
		body    string
		atLeast time.Duration
	}{
		"FirstByteDelay holds back the headers": {
			step: mockprovider.Step{FirstByteDelay: 150 * time.Millisecond}, body: `{"model":"m"}`,
			atLeast: 150 * time.Millisecond,
		},
		"ChunkDelay spaces the events of a stream": {
			// role, 5 deltas, finish, [DONE]: 7 gaps.
			step: mockprovider.Step{ChunkDelay: 20 * time.Millisecond}, body: chatStreamBody,
			atLeast: 7 * 20 * time.Millisecond,
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			srv := startMock(t)
			srv.Enqueue(tc.step)
			start := time.Now()
			resp := mustPost(t, srv.URL()+"/v1/chat/completions", tc.body)
			_, err := io.ReadAll(resp.Body)
			require.NoError(t, err)
			assert.GreaterOrEqual(t, time.Since(start), tc.atLeast)
		})
	}
}

func TestServer_WaitsEndWhenTheClientGoesAway(t *testing.T) {
	tests := map[string]struct {
		step mockprovider.Step
		body string
	}{
		"a long FirstByteDelay":         {step: mockprovider.Step{FirstByteDelay: time.Hour}, body: `{"model":"m"}`},
		"a Hang":                        {step: mockprovider.Step{Fault: mockprovider.FaultHang}, body: `{"model":"m"}`},
		"a long ChunkDelay mid-stream":  {step: mockprovider.Step{ChunkDelay: time.Hour}, body: chatStreamBody},
		"a Hang on a streaming request": {step: mockprovider.Step{Fault: mockprovider.FaultHang}, body: chatStreamBody},
		"a Hang with a FirstByteDelay":  {step: mockprovider.Step{Fault: mockprovider.FaultHang, FirstByteDelay: time.Hour}, body: `{"model":"m"}`},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			srv := startMock(t)
			srv.Enqueue(tc.step)
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			client := newClient(t)
			result := make(chan error, 1)
			go func() {
				resp, err := post(t, ctx, client, srv.URL()+"/v1/chat/completions", tc.body)
				if err == nil {
					_, err = io.ReadAll(resp.Body)
				}
				result <- err
			}()
			require.Eventually(t, func() bool { return srv.InFlight() == 1 }, 10*time.Second, 5*time.Millisecond)
			select {
			case err := <-result:
				t.Fatalf("the request ended while it should wait: %v", err)
			case <-time.After(50 * time.Millisecond):
			}

			cancel()
			assert.ErrorIs(t, <-result, context.Canceled)
			assert.Eventually(t, func() bool { return srv.InFlight() == 0 }, 10*time.Second, 5*time.Millisecond,
				"the mock stops answering once the client is gone")
		})
	}
}

func TestServer_CloseEndsHangingRequests(t *testing.T) {
	srv, err := mockprovider.Start("127.0.0.1:0")
	require.NoError(t, err)
	srv.SetDefault(mockprovider.Step{Fault: mockprovider.FaultHang})
	client := newClient(t)
	result := make(chan error, 1)
	go func() {
		_, err := post(t, context.Background(), client, srv.URL()+"/v1/chat/completions", `{"model":"m"}`)
		result <- err
	}()
	require.Eventually(t, func() bool { return srv.InFlight() == 1 }, 10*time.Second, 5*time.Millisecond)

	require.NoError(t, srv.Close())
	assert.Error(t, <-result)
	assert.Zero(t, srv.InFlight())
}

func TestServer_ResetBeforeHeadersBreaksTheConnection(t *testing.T) {
	for name, body := range map[string]string{
		"a JSON request":   `{"model":"m"}`,
		"a stream request": chatStreamBody,
	} {
		t.Run(name, func(t *testing.T) {
			srv := startMock(t)
			srv.Enqueue(mockprovider.Step{Fault: mockprovider.FaultResetBeforeHeaders})
			_, err := post(t, context.Background(), newClient(t), srv.URL()+"/v1/chat/completions", body)
			require.Error(t, err)
			assert.True(t, isConnectionError(err), "want a reset or EOF, got %v", err)
			assert.Len(t, srv.Requests(), 1, "the client did not retry behind our back")
		})
	}
}

func TestServer_StreamFaultsStrikeAfterEvents(t *testing.T) {
	tests := map[string]struct {
		path, body    string
		step          mockprovider.Step
		wantEvents    int  // complete events before the fault
		wantConnError bool // the body ends in a reset or unexpected EOF
		wantMalformed bool // one more event whose data is not JSON
	}{
		"ResetMidStream after 3 chat chunks": {
			path: "/v1/chat/completions", body: chatStreamBody,
			step:       mockprovider.Step{Fault: mockprovider.FaultResetMidStream, AfterEvents: 3},
			wantEvents: 3, wantConnError: true,
		},
		"ResetMidStream after 0 events resets right after the headers": {
			path: "/v1/messages", body: `{"model":"c","stream":true}`,
			step:       mockprovider.Step{Fault: mockprovider.FaultResetMidStream},
			wantEvents: 0, wantConnError: true,
		},
		"ResetMidStream waits out the ChunkDelay before striking": {
			path: "/v1/chat/completions", body: chatStreamBody,
			step:       mockprovider.Step{Fault: mockprovider.FaultResetMidStream, AfterEvents: 2, ChunkDelay: 10 * time.Millisecond},
			wantEvents: 2, wantConnError: true,
		},
		"CutStream after 3 chat chunks ends cleanly without [DONE]": {
			path: "/v1/chat/completions", body: chatStreamBody,
			step:       mockprovider.Step{Fault: mockprovider.FaultCutStream, AfterEvents: 3},
			wantEvents: 3,
		},
		"CutStream after 4 Anthropic events ends without message_stop": {
			path: "/v1/messages", body: `{"model":"c","stream":true}`,
			step:       mockprovider.Step{Fault: mockprovider.FaultCutStream, AfterEvents: 4},
			wantEvents: 4,
		},
		"CutStream on a Gemini SSE stream": {
			path: "/v1beta/models/g:streamGenerateContent?alt=sse", body: `{}`,
			step:       mockprovider.Step{Fault: mockprovider.FaultCutStream, AfterEvents: 2},
			wantEvents: 2,
		},
		"MalformedJSON after 2 Responses events sends one broken event and ends": {
			path: "/v1/responses", body: `{"model":"m","stream":true}`,
			step:       mockprovider.Step{Fault: mockprovider.FaultMalformedJSON, AfterEvents: 2},
			wantEvents: 2, wantMalformed: true,
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			srv := startMock(t)
			srv.Enqueue(tc.step)
			resp := mustPost(t, srv.URL()+tc.path, tc.body)
			require.Equal(t, http.StatusOK, resp.StatusCode)
			events, err := readSSE(resp.Body)
			if tc.wantConnError {
				require.Error(t, err)
				assert.True(t, isConnectionError(err), "want a reset or EOF, got %v", err)
			} else {
				require.NoError(t, err, "the body ends cleanly")
			}

			wantTotal := tc.wantEvents
			if tc.wantMalformed {
				wantTotal++
			}
			require.Len(t, events, wantTotal)
			for i, ev := range events {
				valid := json.Valid([]byte(ev.Data))
				if tc.wantMalformed && i == len(events)-1 {
					assert.False(t, valid, "event %d should be malformed: %s", i, ev.Data)
					continue
				}
				assert.True(t, valid, "event %d: %s", i, ev.Data)
				assert.NotEqual(t, "[DONE]", ev.Data)
				assert.NotEqual(t, "message_stop", ev.Name)
			}
		})
	}
}

func TestServer_BodyFaultsCutWholeAnswers(t *testing.T) {
	tests := map[string]struct {
		fault      mockprovider.Fault
		wantErr    func(error) bool // on reading the body; nil: no error
		wantStatus int
	}{
		"MalformedJSON answers 200 with truncated JSON": {
			fault: mockprovider.FaultMalformedJSON, wantStatus: 200,
		},
		"CutStream ends the body short of its Content-Length": {
			fault: mockprovider.FaultCutStream, wantStatus: 200,
			wantErr: func(err error) bool { return errors.Is(err, io.ErrUnexpectedEOF) },
		},
		"ResetMidStream resets the connection halfway through the body": {
			fault: mockprovider.FaultResetMidStream, wantStatus: 200, wantErr: isConnectionError,
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			srv := startMock(t)
			srv.Enqueue(mockprovider.Step{Fault: tc.fault})
			resp := mustPost(t, srv.URL()+"/v1/messages", `{"model":"c"}`)
			assert.Equal(t, tc.wantStatus, resp.StatusCode)
			body, err := io.ReadAll(resp.Body)
			if tc.wantErr != nil {
				require.Error(t, err)
				assert.True(t, tc.wantErr(err), "unexpected error %v", err)
				return
			}
			require.NoError(t, err)
			assert.NotEmpty(t, body)
			assert.False(t, json.Valid(body), "body should be invalid JSON: %s", body)
		})
	}
}

func TestServer_UnknownFaultIsAnError(t *testing.T) {
	srv := startMock(t)
	srv.Enqueue(mockprovider.Step{Fault: "explode"})
	resp := mustPost(t, srv.URL()+"/v1/chat/completions", `{"model":"m"}`)
	assert.Equal(t, http.StatusInternalServerError, resp.StatusCode)
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	assert.Contains(t, string(body), "unknown fault")
}

func TestServer_SlowStreamsDoNotHoldUpOtherRequests(t *testing.T) {
	srv := startMock(t)
	const slow = 50
	srv.SetDefault(mockprovider.Step{ChunkDelay: time.Hour})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	client := newClient(t)
	for range slow {
		resp, err := post(t, ctx, client, srv.URL()+"/v1/chat/completions", chatStreamBody)
		require.NoError(t, err)
		require.Equal(t, http.StatusOK, resp.StatusCode) // headers and the first event are out
	}
	require.Equal(t, slow, srv.InFlight())

	srv.SetDefault(mockprovider.Step{})
	srv.Enqueue(mockprovider.Step{Status: 429})
	assert.Equal(t, http.StatusTooManyRequests, mustPost(t, srv.URL()+"/v1/chat/completions", `{"model":"m"}`).StatusCode)
	assert.Equal(t, http.StatusOK, mustPost(t, srv.URL()+"/v1/chat/completions", chatStreamBody).StatusCode)

	cancel()
	assert.Eventually(t, func() bool { return srv.InFlight() == 0 }, 10*time.Second, 5*time.Millisecond)
}
