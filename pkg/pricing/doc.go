// Package pricing turns token usage into US dollars: a built-in table of
// list prices per provider family, overridden per policy by spec.pricing,
// and the exact decimal arithmetic of a request's cost.
//
// Money is shopspring/decimal, never float64: a budget sums the cost of
// millions of requests, and binary floating point would drift from the
// provider's invoice by a little on every one of them. A cost computed from
// prices with at most six decimals is exact; so is one at a cache-write
// price derived from them (1.25 or 2 times the input price).
//
// The built-in table (prices.yaml, embedded) holds list prices in USD per
// million tokens as of its AsOf date, keyed by provider family: "openai"
// for the OpenAI and AzureOpenAI provider types, "anthropic" and "gemini".
// OpenAI-compatible servers (vLLM, Ollama, llama.cpp) have no list price;
// a policy prices them with spec.pricing. The table prices the base tier:
// long-context tiers (Gemini 2.5 Pro and Claude Sonnet above 200k prompt
// tokens) and batch and priority discounts are not modelled. Input tokens
// written to the prompt cache have prices of their own, 1.25 (5 minutes)
// and 2 (one hour) times the input price unless a price says otherwise:
// Anthropic's rates, and only Anthropic and servers passing its counts on
// report such writes.
//
// A model is looked up by its exact name first, then with its dated
// snapshot or version suffix removed (gpt-4o-2024-08-06 is priced as
// gpt-4o, claude-sonnet-4-5-20250929 as claude-sonnet-4-5,
// models/gemini-2.0-flash-001 as gemini-2.0-flash). Names are never
// matched by prefix, so gpt-4o-mini never prices as gpt-4o.
//
// Tables are immutable and safe for concurrent use.
package pricing
