package semantic

import (
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math"
)

// ErrBadEmbedding is wrapped by ParseEmbedding's errors: the answer holds
// no usable vector.
var ErrBadEmbedding = errors.New("the embeddings answer holds no usable vector")

// EmbeddingRequest is the body of an OpenAI-shaped embeddings request
// for text.
func EmbeddingRequest(model, text string) []byte {
	b, err := json.Marshal(struct {
		Model          string `json:"model"`
		Input          string `json:"input"`
		EncodingFormat string `json:"encoding_format"`
	}{model, text, "float"})
	if err != nil {
		panic(fmt.Sprintf("encode an embeddings request: %v", err)) // strings always encode
	}
	return b
}

// ParseEmbedding reads the first vector of an OpenAI-shaped embeddings
// answer ({"data": [{"embedding": [...]}]}; a base64 string of
// little-endian float32s too, for servers that send one whatever was
// asked) and returns it at unit length.
func ParseEmbedding(body []byte) ([]float32, error) {
	var answer struct {
		Data []struct {
			Embedding json.RawMessage `json:"embedding"`
		} `json:"data"`
	}
	if err := json.Unmarshal(body, &answer); err != nil {
		return nil, fmt.Errorf("%w: not JSON: %v", ErrBadEmbedding, err)
	}
	if len(answer.Data) == 0 || len(answer.Data[0].Embedding) == 0 {
		return nil, fmt.Errorf("%w: no data[0].embedding", ErrBadEmbedding)
	}
	raw := answer.Data[0].Embedding
	var v []float32
	if raw[0] == '"' {
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return nil, fmt.Errorf("%w: %v", ErrBadEmbedding, err)
		}
		b, err := base64.StdEncoding.DecodeString(s)
		if err != nil || len(b)%4 != 0 {
			return nil, fmt.Errorf("%w: a base64 embedding that is not float32s", ErrBadEmbedding)
		}
		v = make([]float32, len(b)/4)
		for i := range v {
			v[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
		}
	} else if err := json.Unmarshal(raw, &v); err != nil {
		return nil, fmt.Errorf("%w: data[0].embedding is not a list of numbers", ErrBadEmbedding)
	}
	if len(v) == 0 || len(v) > MaxDimensions {
		return nil, fmt.Errorf("%w: %d dimensions; between 1 and %d are used", ErrBadEmbedding, len(v), MaxDimensions)
	}
	if !Normalize(v) {
		return nil, fmt.Errorf("%w: a zero vector, or one with NaN or infinite values", ErrBadEmbedding)
	}
	return v, nil
}
