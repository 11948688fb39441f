package sidecare2e

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/anthropics/anthropic-sdk-go"
	anthropicoption "github.com/anthropics/anthropic-sdk-go/option"
	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"
	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"tollgate.dev/tollgate/internal/testkit/mockprovider"
	"tollgate.dev/tollgate/pkg/llmclient"
)

// validationBlock validates answers, retries once, and falls back to
// gpt-4o-mini. At $1 per million tokens in and $1000 out, each answer of
// the mock's (12 in, 7 out) costs exactly $0.007012.
const validationBlock = `
  retry:
    maxAttempts: 2
    backoff: {initial: 1ms, max: 2ms}
  fallbacks: [{provider: openai, model: gpt-4o-mini}]
  validation: {}
  pricing:
    - {model: gpt-4o, inputPerMillion: "1", outputPerMillion: "1000"}
    - {model: gpt-4o-mini, inputPerMillion: "1", outputPerMillion: "1000"}
  budget: {period: Daily, limit: "100"}
`

// costPerAnswer is one mock answer at validationBlock's prices.
var costPerAnswer = decimal.RequireFromString("0.007012")

const personJSON = `{"name":"Ada","age":36}`

// personFormat asks openai-go for a strict json_schema answer.
func personFormat() openai.ChatCompletionNewParamsResponseFormatUnion {
	return openai.ChatCompletionNewParamsResponseFormatUnion{
		OfJSONSchema: &openai.ResponseFormatJSONSchemaParam{
			JSONSchema: openai.ResponseFormatJSONSchemaJSONSchemaParam{
				Name:   "person",
				Strict: openai.Bool(true),
				Schema: map[string]any{
					"type": "object",
					"properties": map[string]any{
						"name": map[string]any{"type": "string"},
						"age":  map[string]any{"type": "integer"},
					},
					"required":             []string{"name", "age"},
					"additionalProperties": false,
				},
			},
		},
	}
}

// structuredChat asks for a person as JSON with openai-go.
func structuredChat(t *testing.T, s *sidecar, id string, format openai.ChatCompletionNewParamsResponseFormatUnion) (*openai.ChatCompletion, http.Header) {
	t.Helper()
	params := chatParams("gpt-4o")
	params.ResponseFormat = format
	var raw *http.Response
	c := s.openAI()
	got, err := c.Chat.Completions.New(context.Background(), params, requestID(id), option.WithResponseInto(&raw))
	require.NoError(t, err)
	return got, raw.Header
}

// charged is what the budget was charged for request id: its answer's
// cost plus the answers it discarded.
func charged(t *testing.T, s *sidecar, id string) (decimal.Decimal, map[string]any) {
	t.Helper()
	cost, line := costOf(t, s, id)
	if raw, ok := line["discarded_cost_usd"].(string); ok {
		cost = cost.Add(decimal.RequireFromString(raw))
	}
	return cost, line
}

func TestValidation_AnInvalidAnswerIsRetriedAndBothAnswersAreCharged(t *testing.T) {
	mock := startMock(t)
	mock.EnqueueFor("gpt-4o", mockprovider.Step{Content: `Sure! {"name": "Ada"`}, mockprovider.Step{Content: personJSON})
	s := startWithSpec(t, mock, validationBlock)

	got, h := structuredChat(t, s, "retried", personFormat())

	assert.Equal(t, personJSON, got.Choices[0].Message.Content, "the app gets the valid answer")
	var person struct {
		Name string `json:"name"`
		Age  int    `json:"age"`
	}
	require.NoError(t, json.Unmarshal([]byte(got.Choices[0].Message.Content), &person))
	assert.Equal(t, "2", h.Get(llmclient.HeaderAttempts), "one retry")
	assert.Equal(t, llmclient.ValidationPassed, h.Get(llmclient.HeaderValidation))
	assert.Empty(t, h.Get(llmclient.HeaderFallback))
	require.Len(t, mock.Requests(), 2)

	cost, line := charged(t, s, "retried")
	assert.Equal(t, costPerAnswer.Mul(decimal.NewFromInt(2)).String(), cost.String(), "both answers charged, each once")
	assert.Equal(t, float64(1), line["discarded_answers"])
	assert.Equal(t, "passed", line["validation"])
	assert.Nil(t, line["error_type"])
	s.awaitMetric(1, "tollgate_retries_total", "reason", "invalid_output")
	s.awaitMetric(1, "tollgate_output_validations_total", "result", "failed")
	s.awaitMetric(1, "tollgate_output_validations_total", "result", "passed")
	s.awaitMetric(costPerAnswer.InexactFloat64()*2, "tollgate_cost_usd_total", "model", "gpt-4o")
	s.awaitMetric(14, "tollgate_tokens_total", "model", "gpt-4o", "type", "output")
}

func TestValidation_AlwaysInvalidFallsBackThenGivesTheLastAnswerMarkedFailed(t *testing.T) {
	mock := startMock(t)
	// Schema-violating JSON from every rung: age is a string.
	bad := mockprovider.Step{Content: `{"name":"Ada","age":"36"}`}
	mock.SetDefault(bad)
	s := startWithSpec(t, mock, validationBlock)

	got, h := structuredChat(t, s, "all-invalid", personFormat())

	assert.Equal(t, `{"name":"Ada","age":"36"}`, got.Choices[0].Message.Content, "the provider's last answer, as it came")
	assert.Equal(t, "gpt-4o-mini", got.Model, "from the fallback rung")
	assert.Equal(t, "openai/gpt-4o-mini", h.Get(llmclient.HeaderFallback))
	assert.Equal(t, "4", h.Get(llmclient.HeaderAttempts), "two attempts on each rung")
	assert.Equal(t, llmclient.ValidationFailed, h.Get(llmclient.HeaderValidation))
	reason := h.Get(llmclient.HeaderValidationReason)
	assert.Contains(t, reason, "schema_mismatch: ")
	assert.Contains(t, reason, "at '/age'")
	assert.Contains(t, reason, "want integer")
	var models []string
	for _, r := range mock.Requests() {
		models = append(models, r.Model)
	}
	assert.Equal(t, []string{"gpt-4o", "gpt-4o", "gpt-4o-mini", "gpt-4o-mini"}, models)

	cost, line := charged(t, s, "all-invalid")
	assert.Equal(t, costPerAnswer.Mul(decimal.NewFromInt(4)).String(), cost.String(), "four paid answers, four charges")
	assert.Equal(t, "invalid_output", line["error_type"])
	assert.Equal(t, "failed", line["validation"])
	assert.Equal(t, "schema_mismatch", line["validation_reason"])
	assert.Equal(t, "type", line["validation_keyword"])
	assert.NotContains(t, s.logs.String(), `"36"`, "the answer's content is never logged")
	s.awaitMetric(1, "tollgate_requests_total", "outcome", "invalid_output")
	s.awaitMetric(4, "tollgate_output_validations_total", "result", "failed")
	s.awaitMetric(1, "tollgate_fallbacks_total", "rung", "openai/gpt-4o-mini")
	s.awaitMetric(costPerAnswer.InexactFloat64()*2, "tollgate_cost_usd_total", "model", "gpt-4o-mini")
}

func TestValidation_JSONObjectModeRejectsProse(t *testing.T) {
	mock := startMock(t)
	mock.EnqueueFor("gpt-4o", mockprovider.Step{Content: "Here you go: name Ada, age 36."}, mockprovider.Step{Content: `{"name":"Ada"}`})
	s := startWithSpec(t, mock, validationBlock)

	format := openai.ChatCompletionNewParamsResponseFormatUnion{OfJSONObject: &openai.ResponseFormatJSONObjectParam{}}
	got, h := structuredChat(t, s, "json-object", format)
	assert.Equal(t, `{"name":"Ada"}`, got.Choices[0].Message.Content)
	assert.Equal(t, "2", h.Get(llmclient.HeaderAttempts))
	assert.Equal(t, llmclient.ValidationPassed, h.Get(llmclient.HeaderValidation))
	line := s.requestLog("json-object")
	assert.Equal(t, float64(1), line["discarded_answers"])
}

func TestValidation_OffPassesAnswersThroughUntouched(t *testing.T) {
	mock := startMock(t)
	mock.SetDefault(mockprovider.Step{Content: "not JSON at all"})
	s := startWithSpec(t, mock, strings.Replace(validationBlock, "  validation: {}\n", "", 1))

	got, h := structuredChat(t, s, "off", personFormat())
	assert.Equal(t, "not JSON at all", got.Choices[0].Message.Content)
	assert.Equal(t, "1", h.Get(llmclient.HeaderAttempts))
	assert.Empty(t, h.Get(llmclient.HeaderValidation))
	assert.Empty(t, h.Get(llmclient.HeaderFallback))
	line := s.requestLog("off")
	assert.Nil(t, line["validation"])
	assert.NotContains(t, s.get("/metrics"), "invalid_output", "no series for what cannot happen")
}

func TestValidation_AnswersToRequestsWithoutAFormatAreNotJudged(t *testing.T) {
	mock := startMock(t)
	mock.SetDefault(mockprovider.Step{Content: "plain prose"})
	s := startWithSpec(t, mock, validationBlock)
	res := chat(t, s.openAI(), "gpt-4o", requestID("plain"))
	require.NoError(t, res.err)
	assert.Equal(t, "plain prose", res.completion.Choices[0].Message.Content)
	assert.Empty(t, res.header.Get(llmclient.HeaderValidation))
	assert.Len(t, mock.Requests(), 1)
}

func TestValidation_StreamsPassThroughUncheckedByDefaultAndAreCheckedWhenBuffered(t *testing.T) {
	params := chatParams("gpt-4o")
	params.ResponseFormat = personFormat()

	t.Run("PassThrough", func(t *testing.T) {
		mock := startMock(t)
		mock.SetDefault(mockprovider.Step{Content: "not JSON"})
		s := startWithSpec(t, mock, validationBlock)
		res := chatStream(t, s.openAI(), params)
		require.NoError(t, res.err)
		assert.Equal(t, "not JSON", res.acc.Choices[0].Message.Content, "streamed through as it came")
		assert.Equal(t, llmclient.ValidationSkipped, res.header.Get(llmclient.HeaderValidation))
		assert.Contains(t, res.header.Get(llmclient.HeaderValidationReason), "stream: ")
		assert.Len(t, mock.Requests(), 1)
	})
	t.Run("Buffer", func(t *testing.T) {
		mock := startMock(t)
		mock.EnqueueFor("gpt-4o", mockprovider.Step{Content: `{"name": "Ada",`}, mockprovider.Step{Content: `{"name": "Ada", "age": 36}`})
		s := startWithSpec(t, mock, strings.Replace(validationBlock, "validation: {}", "validation: {streams: Buffer}", 1))
		res := chatStream(t, s.openAI(), params, requestID("buffered"))
		require.NoError(t, res.err)
		assert.Equal(t, `{"name": "Ada", "age": 36}`, res.acc.Choices[0].Message.Content)
		assert.Greater(t, len(res.chunks), 3, "still a stream of chunks")
		assert.Equal(t, "2", res.header.Get(llmclient.HeaderAttempts))
		assert.Equal(t, llmclient.ValidationPassed, res.header.Get(llmclient.HeaderValidation))
		cost, _ := charged(t, s, "buffered")
		assert.Equal(t, costPerAnswer.Mul(decimal.NewFromInt(2)).String(), cost.String(), "the discarded stream's usage is charged too")
	})
}

func TestValidation_MalformedAndHugeSchemasNeverCrashAndSkipWithAReason(t *testing.T) {
	mock := startMock(t)
	mock.SetDefault(mockprovider.Step{Content: personJSON})
	s := startWithSpec(t, mock, validationBlock)

	huge := `{"type":"object","description":"` + strings.Repeat("x", 300<<10) + `"}`
	deep := strings.Repeat(`{"items":`, 5000) + `{}` + strings.Repeat(`}`, 5000) // deeper bodies are not JSON to the sidecar (tollgate_bad_request)
	var fanOut []string
	for i := range 30 {
		fanOut = append(fanOut, fmt.Sprintf(`"d%d":{"anyOf":[{"$ref":"#/$defs/d%d"},{"$ref":"#/$defs/d%d"}]}`, i, i+1, i+1))
	}
	exponential := `{"$defs":{` + strings.Join(fanOut, ",") + `,"d30":false},"$ref":"#/$defs/d0"}`
	tests := map[string]struct {
		responseFormat string
		wantReason     string
	}{
		"a schema that is not a schema":       {`{"type":"json_schema","json_schema":{"name":"p","schema":{"type":"objekt"}}}`, "schema_unusable: "},
		"a schema that is a string":           {`{"type":"json_schema","json_schema":{"name":"p","schema":"object"}}`, "schema_unusable: "},
		"json_schema without a schema":        {`{"type":"json_schema","json_schema":{"name":"p"}}`, "unreadable_format: "},
		"a response_format of the wrong type": {`"json"`, "unreadable_format: "},
		"a remote reference":                  {`{"type":"json_schema","json_schema":{"name":"p","schema":{"$ref":"http://127.0.0.1:9/s.json"}}}`, "schema_unusable: "},
		"a file reference":                    {`{"type":"json_schema","json_schema":{"name":"p","schema":{"$ref":"file:///etc/passwd"}}}`, "schema_unusable: "},
		"a huge schema":                       {`{"type":"json_schema","json_schema":{"name":"p","schema":` + huge + `}}`, "schema_unusable: the request's schema is"},
		"a deeply nested schema":              {`{"type":"json_schema","json_schema":{"name":"p","schema":` + deep + `}}`, "schema_unusable: "},
		"an exponential schema":               {`{"type":"json_schema","json_schema":{"name":"p","schema":` + exponential + `}}`, "schema_unusable: "},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			body := `{"model":"gpt-4o","messages":[{"role":"user","content":"hi"}],"response_format":` + tc.responseFormat + `}`
			resp, err := http.Post(s.url+"/openai/v1/chat/completions", "application/json", strings.NewReader(body))
			require.NoError(t, err)
			got, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			require.Equal(t, http.StatusOK, resp.StatusCode, "the provider judges the request: %s", got)
			assert.Contains(t, string(got), `\"name\":\"Ada\"`, "the answer passes on unchecked")
			assert.Equal(t, llmclient.ValidationSkipped, resp.Header.Get(llmclient.HeaderValidation))
			assert.True(t, strings.HasPrefix(resp.Header.Get(llmclient.HeaderValidationReason), tc.wantReason), resp.Header.Get(llmclient.HeaderValidationReason))
			assert.LessOrEqual(t, len(resp.Header.Get(llmclient.HeaderValidationReason)), 300)
		})
	}
	// Still serving, and never fetched anything but the mock.
	res := chat(t, s.openAI(), "gpt-4o")
	require.NoError(t, res.err)
	assert.NotContains(t, s.logs.String(), "panic")
}

func TestValidation_AnthropicOutputConfigFormatIsCheckedToo(t *testing.T) {
	mock := startMock(t)
	mock.EnqueueFor("claude-sonnet-4-5", mockprovider.Step{Content: `{"name":"Ada"}`}, mockprovider.Step{Content: personJSON})
	s := startWithSpec(t, mock, `
  retry: {maxAttempts: 2, backoff: {initial: 1ms, max: 2ms}}
  validation: {}
`)
	params := messageParams("claude-sonnet-4-5")
	params.OutputConfig = anthropic.OutputConfigParam{Format: anthropic.JSONOutputFormatParam{Schema: map[string]any{
		"type": "object", "required": []string{"name", "age"},
		"properties": map[string]any{"name": map[string]any{"type": "string"}, "age": map[string]any{"type": "integer"}},
	}}}
	var raw *http.Response
	client := s.anthropic()
	msg, err := client.Messages.New(context.Background(), params, anthropicoption.WithResponseInto(&raw))
	require.NoError(t, err)
	require.Len(t, msg.Content, 1)
	assert.Equal(t, personJSON, msg.Content[0].Text, "the second, valid answer")
	assert.Equal(t, "2", raw.Header.Get(llmclient.HeaderAttempts))
	assert.Equal(t, llmclient.ValidationPassed, raw.Header.Get(llmclient.HeaderValidation))
	var sent map[string]any
	require.NoError(t, json.Unmarshal([]byte(mock.Requests()[0].Body), &sent))
	assert.Contains(t, sent, "output_config", "the SDK sent the format the sidecar read")
}

// TestValidation_ACheckedRequestReservesEveryAnswerItMayPayFor: an invalid
// answer is paid for and thrown away, so a request whose answers are
// checked may pay for an answer per attempt on every rung. Its
// reservation covers them all, so that retries cannot overspend a budget;
// a request whose answers are not checked reserves one answer.
func TestValidation_ACheckedRequestReservesEveryAnswerItMayPayFor(t *testing.T) {
	mock := startMock(t)
	// An answer of at most 100 tokens costs at most $0.1 and a few
	// millionths for the prompt: two attempts on each of two rungs, $0.4.
	s := startWithSpec(t, mock, strings.Replace(validationBlock, `limit: "100"`, `limit: "0.45"`, 1))
	params := chatParams("gpt-4o")
	params.MaxTokens = openai.Int(100)
	c := s.openAI()

	// A checked request in flight holds its reservation.
	mock.SetDefault(mockprovider.Step{Content: personJSON, FirstByteDelay: time.Second})
	checked := params
	checked.ResponseFormat = personFormat()
	done := make(chan error, 1)
	go func() {
		_, err := c.Chat.Completions.New(context.Background(), checked)
		done <- err
	}()
	require.Eventually(t, func() bool { return mock.InFlight() == 1 }, 5*time.Second, 5*time.Millisecond)

	// Which leaves no room for another request of $0.1 within the $0.45.
	_, err := c.Chat.Completions.New(context.Background(), params, option.WithMaxRetries(0))
	apiErr := requireOpenAIError(t, err, http.StatusTooManyRequests, llmclient.CodeBudgetExhausted)
	assert.Contains(t, apiErr.Message, "reserved by requests in flight", apiErr.Message)
	require.NoError(t, <-done)

	// Settled, the checked request was charged its one answer, and an
	// unchecked request, reserving one answer, passes.
	mock.SetDefault(mockprovider.Step{Content: personJSON})
	_, err = c.Chat.Completions.New(context.Background(), params)
	require.NoError(t, err)
	assert.Len(t, mock.Requests(), 2)
}
