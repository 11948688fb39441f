package mockprovider_test

import (
	"io"
	"net/http"
	"strings"
	"testing"

	"tollgate.dev/tollgate/internal/testkit/mockprovider"
)

// The benchmarks measure the mock itself, so that a sidecar benchmark can
// tell how much of its budget the mock takes.

func benchmarkPost(b *testing.B, step mockprovider.Step, path, body string) {
	srv, err := mockprovider.Start("127.0.0.1:0", mockprovider.WithDefault(step))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = srv.Close() })
	tr := &http.Transport{MaxIdleConnsPerHost: 256}
	b.Cleanup(tr.CloseIdleConnections)
	client := &http.Client{Transport: tr}
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			resp, err := client.Post(srv.URL()+path, "application/json", strings.NewReader(body))
			if err != nil {
				b.Error(err)
				return
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			_ = resp.Body.Close()
		}
	})
}

func BenchmarkChatCompletion(b *testing.B) {
	benchmarkPost(b, mockprovider.Step{}, "/v1/chat/completions", `{"model":"gpt-4o-mini","messages":[{"role":"user","content":"hi"}]}`)
}

func BenchmarkChatStream100Chunks(b *testing.B) {
	benchmarkPost(b, mockprovider.Step{Chunks: 100}, "/v1/chat/completions",
		`{"model":"gpt-4o-mini","stream":true,"stream_options":{"include_usage":true},"messages":[{"role":"user","content":"hi"}]}`)
}

func BenchmarkAnthropicStream100Chunks(b *testing.B) {
	benchmarkPost(b, mockprovider.Step{Chunks: 100}, "/v1/messages", `{"model":"claude","stream":true,"max_tokens":10}`)
}
