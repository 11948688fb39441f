// Command tollgate-memcheck measures the sidecar's peak resident memory
// (VmHWM) under its documented worst case: many requests at once, each with
// a body of the largest size the sidecar accepts and an answer of the
// largest size it would copy (for the cache). The README's "Limits" section
// quotes it:
//
//	GOMEMLIMIT=96MiB go run ./bench/cmd/tollgate-memcheck          # JSON answers
//	GOMEMLIMIT=96MiB go run ./bench/cmd/tollgate-memcheck -stream  # SSE answers
//
// The sidecar runs as its own process with its default flags, built without
// the race detector as a release is; the mock provider runs in this one.
// GOMEMLIMIT, which the sidecar inherits, stands for the soft limit the
// sidecar sets itself in a container: 75% of the chart's 128Mi.
package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"tollgate.dev/tollgate/bench/internal/fleet"
	"tollgate.dev/tollgate/internal/testkit/mockprovider"
	"tollgate.dev/tollgate/internal/testkit/proc"
	"tollgate.dev/tollgate/internal/testkit/promtext"
	"tollgate.dev/tollgate/pkg/llmclient"
)

func main() {
	if err := run(os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "tollgate-memcheck:", err)
		os.Exit(1)
	}
}

type options struct {
	concurrency int
	bodyBytes   int64
	answerBytes int
	rounds      int
	stream      bool
	sidecarArgs string
}

func run(args []string, out io.Writer) error {
	var o options
	fs := flag.NewFlagSet("tollgate-memcheck", flag.ContinueOnError)
	fs.IntVar(&o.concurrency, "concurrency", 32, "requests sent at once")
	fs.Int64Var(&o.bodyBytes, "body-bytes", llmclient.DefaultMaxRequestBytes, "size of each request body, in bytes")
	fs.IntVar(&o.answerBytes, "answer-bytes", 8<<20-64<<10, "size of the reply text of each answer, in bytes: by default, just within the size the sidecar would copy for the cache")
	fs.IntVar(&o.rounds, "rounds", 3, "how many times the concurrent requests are sent")
	fs.BoolVar(&o.stream, "stream", false, "stream the answers (SSE) instead of JSON: the sidecar then also adds stream_options to each body")
	fs.StringVar(&o.sidecarArgs, "sidecar-args", "", "extra sidecar flags, space-separated")
	if err := fs.Parse(args); err != nil {
		return err
	}

	root, err := proc.RepoRoot()
	if err != nil {
		return err
	}
	dir, err := os.MkdirTemp("", "tollgate-memcheck-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	ctx := context.Background()
	bins, err := proc.Build(ctx, root, dir, false, "./cmd/sidecar")
	if err != nil {
		return err
	}

	mock, err := mockprovider.Start("127.0.0.1:0", mockprovider.WithHistory(0),
		mockprovider.WithDefault(mockprovider.Step{Content: strings.Repeat("word ", o.answerBytes/5), Chunks: 64}))
	if err != nil {
		return err
	}
	defer mock.Close()

	policy := filepath.Join(dir, "policy.yaml")
	if err := os.WriteFile(policy, []byte(fmt.Sprintf(policyYAML, mock.URL())), 0o600); err != nil {
		return err
	}
	listen, admin := freeAddr(), freeAddr()
	argv := append([]string{"--policy", policy, "--listen", listen, "--admin", admin, "--log-level", "warn"}, strings.Fields(o.sidecarArgs)...)
	sc, err := fleet.Start(ctx, fleet.Spec{Name: "sidecar", Path: bins["./cmd/sidecar"], Args: argv, CPU: fleet.NoCPU, LogDir: dir})
	if err != nil {
		return err
	}
	defer sc.Stop()
	if err := sc.WaitReady(ctx, "http://"+admin+"/readyz", 15*time.Second); err != nil {
		return err
	}
	idle, err := sc.Memory()
	if err != nil {
		return err
	}

	body := requestBody(o.bodyBytes, o.stream)
	statuses := map[string]int{}
	client := &http.Client{Transport: &http.Transport{Proxy: nil, MaxIdleConnsPerHost: o.concurrency}}
	for range o.rounds {
		var wg sync.WaitGroup
		var mu sync.Mutex
		for range o.concurrency {
			wg.Go(func() {
				got := send(client, "http://"+listen+"/openai/v1/chat/completions", body)
				mu.Lock()
				statuses[got]++
				mu.Unlock()
			})
		}
		wg.Wait()
	}
	peak, err := sc.Memory()
	if err != nil {
		return err
	}
	// The mock reports the same output tokens for every answer, so their
	// sum counts the answers whose usage the sidecar read.
	metrics, err := get("http://" + admin + "/metrics")
	if err != nil {
		return err
	}
	tokens, err := promtext.Sum(metrics, "tollgate_tokens_total", "type", "output")
	if err != nil {
		return err
	}

	kind := "JSON"
	if o.stream {
		kind = "SSE"
	}
	fmt.Fprintf(out, "sidecar %s\n", strings.Join(argv[6:], " "))
	fmt.Fprintf(out, "%d × %d requests at once: bodies of %.1f MiB, %s answers of %.1f MiB\n",
		o.rounds, o.concurrency, float64(o.bodyBytes)/(1<<20), kind, float64(o.answerBytes)/(1<<20))
	fmt.Fprintf(out, "answers: %s; usage read for %d\n", describe(statuses), int(tokens)/mockprovider.DefaultOutputTokens)
	fmt.Fprintf(out, "VmRSS idle %.1f MiB; VmHWM %.1f MiB\n", fleet.MiB(idle.RSS), fleet.MiB(peak.HWM))
	return nil
}

// policyYAML is the policy the sidecar enforces: one OpenAI provider at the
// mock, a total timeout long enough for the largest transfers.
const policyYAML = `apiVersion: tollgate.dev/v1alpha1
kind: LLMPolicy
metadata: {name: memcheck, namespace: bench}
spec:
  providers:
    - {name: openai, type: OpenAI, baseURL: %s}
  timeouts: {connect: 1s, firstToken: 60s, total: 120s}
`

// requestBody is a chat completions request of exactly size bytes.
func requestBody(size int64, stream bool) []byte {
	head := `{"model":"gpt-4o-mini","stream":false,"messages":[{"role":"user","content":"`
	if stream {
		head = strings.Replace(head, "false", "true ", 1)
	}
	const tail = `"}]}`
	n := max(size-int64(len(head)+len(tail)), 0)
	var b bytes.Buffer
	b.Grow(int(size))
	b.WriteString(head)
	b.Write(bytes.Repeat([]byte("x"), int(n)))
	b.WriteString(tail)
	return b.Bytes()
}

// send posts body and reads the whole answer; it returns the status, or
// what went wrong.
func send(client *http.Client, url string, body []byte) string {
	resp, err := client.Post(url, "application/json", bytes.NewReader(body))
	if err != nil {
		return "error: " + err.Error()
	}
	defer resp.Body.Close()
	if _, err := io.Copy(io.Discard, resp.Body); err != nil {
		return fmt.Sprintf("%d, then a read error", resp.StatusCode)
	}
	if reason := resp.Header.Get(llmclient.HeaderReason); reason != "" {
		return fmt.Sprintf("%d %s", resp.StatusCode, reason)
	}
	return fmt.Sprint(resp.StatusCode)
}

// get fetches url and returns its body.
func get(url string) (string, error) {
	resp, err := http.Get(url)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return string(b), err
}

func describe(counts map[string]int) string {
	keys := make([]string, 0, len(counts))
	for k := range counts {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%d × %s", counts[k], k)
	}
	return strings.Join(parts, ", ")
}

// freeAddr is a loopback address no one listens on now.
func freeAddr() string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(errors.New("no free loopback port: " + err.Error()))
	}
	defer ln.Close()
	return ln.Addr().String()
}
