package provider

import (
	"encoding/json"

	"tollgate.dev/tollgate/pkg/wire"
)

// Every answer's usage is decoded: encoding/json's scanner and reflection
// cost a request more than the rest of its report. The decoders here read
// the usage objects member by member, exactly as json.Unmarshal fills the
// structs of usage.go (keys matched exactly, else case-insensitively; the
// last of duplicate keys wins, objects merge; null resets a pointer and
// leaves a struct; a value of the wrong type fails the whole decode; counts
// through their own UnmarshalJSON). What they cannot be sure of (a key
// escaped or not ASCII, a document nested deeper than wire.Members checks,
// invalid JSON) they leave to encoding/json: ok false.
// FuzzUsageDecoders holds them to encoding/json.

// usageMember decodes the top-level member key of the JSON object body as
// json.Unmarshal decodes it into struct{ U *T `json:"key"` }: null resets
// the usage (reset), an object is decoded into it (decode, merging into
// what an earlier member of the same key left). has is false when no
// usage is left: the member is absent or null, or the decode failed.
func usageMember(body []byte, key string, reset func(), decode func(obj []byte) (failed, ok bool)) (has, ok bool) {
	keys := [1]string{key}
	failed, ok := decodeMembers(body, keys[:], func(_ int, v []byte) (bool, bool) {
		switch v[0] {
		case 'n':
			reset()
			has = false
			return false, true
		case '{':
			has = true
			return decode(v)
		}
		return true, true // not an object: the decode fails
	})
	if failed || !ok {
		return false, ok
	}
	return has, true
}

// decodeMembers walks the JSON object obj (see wire.Members), calling
// member with the index among names of the field each key decodes into,
// and its raw value; keys of no field are skipped. member reports whether
// the value failed to decode, and ok false when only encoding/json can
// say. failed is true when a member failed: the whole decode fails.
func decodeMembers(obj []byte, names []string, member func(i int, v []byte) (failed, ok bool)) (failed, ok bool) {
	sure := true
	walked := wire.Members(obj, func(key, v []byte) bool {
		i, plain := fieldIndex(key, names)
		if !plain {
			sure = false
			return false
		}
		if i < 0 {
			return true
		}
		f, o := member(i, v)
		if !o {
			sure = false
			return false
		}
		if f {
			failed = true
			return false
		}
		return true
	})
	switch {
	case failed:
		// Whatever the rest holds, encoding/json fails too.
		return true, true
	case !sure || !walked:
		return false, false
	}
	return false, true
}

// fieldIndex returns the index among names of the field the raw key
// decodes into, as encoding/json matches keys: exactly, else ignoring
// ASCII case; -1 for none. plain is false for a key only encoding/json can
// match: escaped, or not ASCII (it folds Unicode too).
func fieldIndex(raw []byte, names []string) (i int, plain bool) {
	key, plain := wire.PlainKey(raw)
	if !plain {
		return -1, false
	}
	for i, n := range names {
		if string(key) == n {
			return i, true
		}
	}
	for i, n := range names {
		if asciiEqualFold(key, n) {
			return i, true
		}
	}
	return -1, true
}

func asciiEqualFold(b []byte, s string) bool {
	if len(b) != len(s) {
		return false
	}
	for i := range b {
		x, y := b[i], s[i]
		if 'a' <= x && x <= 'z' {
			x -= 'a' - 'A'
		}
		if 'a' <= y && y <= 'z' {
			y -= 'a' - 'A'
		}
		if x != y {
			return false
		}
	}
	return true
}

// decodeStruct decodes v into a field of struct type: null leaves the
// struct as it is, an object is decoded by members, anything else fails.
func decodeStruct(v []byte, members func(obj []byte) (failed, ok bool)) (failed, ok bool) {
	switch v[0] {
	case 'n':
		return false, true
	case '{':
		return members(v)
	}
	return true, true
}

// decodeCountPointer decodes v into a *tokenCount field: null makes it
// nil, anything else a count (tokenCount never fails).
func decodeCountPointer(p **tokenCount, v []byte) {
	if v[0] == 'n' {
		*p = nil
		return
	}
	if *p == nil {
		*p = new(tokenCount)
	}
	_ = (*p).UnmarshalJSON(v)
}

var (
	chatUsageNames      = []string{"prompt_tokens", "completion_tokens", "total_tokens", "prompt_tokens_details", "completion_tokens_details", "prompt_cache_hit_tokens"}
	promptDetailsNames  = []string{"cached_tokens", "cache_write_tokens"}
	reasoningNames      = []string{"reasoning_tokens"}
	responsesUsageNames = []string{"input_tokens", "output_tokens", "input_tokens_details", "output_tokens_details"}
	cachedTokensNames   = []string{"cached_tokens"}
	anthropicUsageNames = []string{"input_tokens", "cache_creation_input_tokens", "cache_read_input_tokens", "cache_creation", "output_tokens"}
)

// decode decodes the usage object obj into u as json.Unmarshal(obj, u)
// does.
func (u *chatUsageJSON) decode(obj []byte) (failed, ok bool) {
	return decodeMembers(obj, chatUsageNames, func(i int, v []byte) (bool, bool) {
		switch i {
		case 0:
			_ = u.PromptTokens.UnmarshalJSON(v)
		case 1:
			_ = u.CompletionTokens.UnmarshalJSON(v)
		case 2:
			_ = u.TotalTokens.UnmarshalJSON(v)
		case 3:
			return decodeStruct(v, func(obj []byte) (bool, bool) {
				d := &u.PromptTokensDetails
				return decodeMembers(obj, promptDetailsNames, func(i int, v []byte) (bool, bool) {
					if i == 0 {
						_ = d.CachedTokens.UnmarshalJSON(v)
					} else {
						_ = d.CacheWriteTokens.UnmarshalJSON(v)
					}
					return false, true
				})
			})
		case 4:
			return decodeStruct(v, func(obj []byte) (bool, bool) {
				return decodeMembers(obj, reasoningNames, func(_ int, v []byte) (bool, bool) {
					_ = u.CompletionTokensDetails.ReasoningTokens.UnmarshalJSON(v)
					return false, true
				})
			})
		case 5:
			_ = u.PromptCacheHitTokens.UnmarshalJSON(v)
		}
		return false, true
	})
}

// decode decodes the usage object obj into u as json.Unmarshal(obj, u)
// does.
func (u *responsesUsageJSON) decode(obj []byte) (failed, ok bool) {
	return decodeMembers(obj, responsesUsageNames, func(i int, v []byte) (bool, bool) {
		switch i {
		case 0:
			_ = u.InputTokens.UnmarshalJSON(v)
		case 1:
			_ = u.OutputTokens.UnmarshalJSON(v)
		case 2:
			return decodeStruct(v, func(obj []byte) (bool, bool) {
				return decodeMembers(obj, cachedTokensNames, func(_ int, v []byte) (bool, bool) {
					_ = u.InputTokensDetails.CachedTokens.UnmarshalJSON(v)
					return false, true
				})
			})
		case 3:
			return decodeStruct(v, func(obj []byte) (bool, bool) {
				return decodeMembers(obj, reasoningNames, func(_ int, v []byte) (bool, bool) {
					_ = u.OutputTokensDetails.ReasoningTokens.UnmarshalJSON(v)
					return false, true
				})
			})
		}
		return false, true
	})
}

// decode decodes the usage object obj into u as json.Unmarshal(obj, u)
// does.
func (u *anthropicUsageJSON) decode(obj []byte) (failed, ok bool) {
	return decodeMembers(obj, anthropicUsageNames, func(i int, v []byte) (bool, bool) {
		switch i {
		case 0:
			decodeCountPointer(&u.InputTokens, v)
		case 1:
			decodeCountPointer(&u.CacheCreationInputTokens, v)
		case 2:
			decodeCountPointer(&u.CacheReadInputTokens, v)
		case 3:
			if v[0] == 'n' {
				u.CacheCreation = nil
				break
			}
			if u.CacheCreation == nil {
				u.CacheCreation = new(anthropicCacheCreationJSON)
			}
			_ = u.CacheCreation.UnmarshalJSON(v) // lenient: never fails
		case 4:
			decodeCountPointer(&u.OutputTokens, v)
		}
		return false, true
	})
}

// decodeUsage decodes the usage object obj into u as json.Unmarshal(obj,
// &u) does, from a zero u, with decode when it can and encoding/json
// otherwise; false when the decode fails.
func decodeUsage(u any, obj []byte, reset func(), decode func(obj []byte) (failed, ok bool)) bool {
	failed, ok := decode(obj)
	if !ok {
		reset()
		return json.Unmarshal(obj, u) == nil
	}
	return !failed
}
