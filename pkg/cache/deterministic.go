package cache

import (
	"bytes"
	"encoding/json"

	"tollgate.dev/tollgate/pkg/wire"
)

// Deterministic reports whether a request body asks for a deterministic
// answer: its temperature is set, to 0. OpenAI (chat completions,
// Responses), Anthropic and Gemini all default the temperature to 1.0, so
// a request without one asks for varied answers and is not deterministic.
//
// The temperature is read where each API puts it: the top-level
// temperature member (OpenAI, Azure OpenAI, OpenAI-compatible servers,
// Anthropic), or generationConfig.temperature (Gemini; also spelled
// generation_config). A body with several must set all of them to 0. A
// temperature of another type (a string, null) is not 0, and neither is a
// body that is not a JSON object. Member names match exactly, as the
// providers match them: "Temperature" is not a temperature.
func Deterministic(body []byte) bool {
	var top map[string]json.RawMessage
	if json.Unmarshal(body, &top) != nil {
		return false
	}
	temps := make([]json.RawMessage, 0, 3)
	if t, ok := top["temperature"]; ok {
		temps = append(temps, t)
	}
	for _, name := range []string{"generationConfig", "generation_config"} {
		raw, ok := top[name]
		if !ok {
			continue
		}
		var cfg map[string]json.RawMessage
		if json.Unmarshal(raw, &cfg) != nil {
			return false // present but not an object: the provider refuses it
		}
		if t, ok := cfg["temperature"]; ok {
			temps = append(temps, t)
		}
	}
	if len(temps) == 0 {
		return false
	}
	for _, t := range temps {
		if !isZero(t) {
			return false
		}
	}
	return true
}

// isZero reports whether raw is a JSON number equal to 0.
func isZero(raw json.RawMessage) bool {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || (raw[0] != '-' && (raw[0] < '0' || raw[0] > '9')) {
		return false
	}
	return wire.CanonicalNumber(string(raw)) == "0"
}
