package mockprovider_test

import (
	"bufio"
	"context"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"tollgate.dev/tollgate/internal/testkit/mockprovider"
)

func TestParseFlags(t *testing.T) {
	tests := map[string]struct {
		args    []string
		want    mockprovider.Flags
		wantErr string
	}{
		"defaults": {
			want: mockprovider.Flags{Listen: "127.0.0.1:8089", History: mockprovider.DefaultHistorySize, RecordBodyBytes: mockprovider.DefaultRecordBodyBytes},
		},
		"every flag": {
			args: []string{"--listen", "127.0.0.1:0", "--latency", "50ms", "--chunk-delay", "5ms", "--chunks", "100", "--history", "10", "--record-body-bytes", "0"},
			want: mockprovider.Flags{Listen: "127.0.0.1:0", Latency: 50 * time.Millisecond, ChunkDelay: 5 * time.Millisecond, Chunks: 100, History: 10},
		},
		"a bad duration":   {args: []string{"--latency", "5"}, wantErr: "invalid value"},
		"a stray argument": {args: []string{"serve"}, wantErr: "flags only"},
		"an unknown flag":  {args: []string{"--port", "1"}, wantErr: "not defined"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			got, err := mockprovider.ParseFlags(tc.args, io.Discard)
			if tc.wantErr != "" {
				require.ErrorContains(t, err, tc.wantErr)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tc.want, got)
		})
	}
}

func TestRun_PrintsItsURLAndStopsWithTheContext(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	out, w := io.Pipe()
	done := make(chan error, 1)
	go func() {
		done <- mockprovider.Main(ctx, []string{"--listen", "127.0.0.1:0", "--chunks", "3"}, w, io.Discard)
		_ = w.Close()
	}()

	url, err := bufio.NewReader(out).ReadString('\n')
	require.NoError(t, err)
	url = strings.TrimSpace(url)
	require.True(t, strings.HasPrefix(url, "http://127.0.0.1:"), url)

	resp, err := newClient(t).Post(url+"/v1/messages", "application/json", strings.NewReader(`{"model":"c","stream":true}`))
	require.NoError(t, err)
	events, err := readSSE(resp.Body)
	resp.Body.Close()
	require.NoError(t, err)
	deltas := 0
	for _, ev := range events {
		if ev.Name == "content_block_delta" {
			deltas++
		}
	}
	assert.Equal(t, 3, deltas, "--chunks sets the default step")

	cancel()
	select {
	case err := <-done:
		require.NoError(t, err)
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not return after its context ended")
	}
	_, err = newClient(t).Get(url + "/_mock/healthz")
	assert.Error(t, err, "the listener is closed")
}
