// Package loader reads the sidecar's policy file. The file is either an
// LLMPolicy manifest (standalone mode: the same YAML a user applies with
// kubectl) or a bundle rendered by the operator (the tollgate-config
// ConfigMap mounted into the pod). Both go through Parse, so both are
// defaulted and validated before the sidecar compiles anything.
package loader

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"

	"sigs.k8s.io/yaml"

	v1alpha1 "tollgate.dev/tollgate/api/v1alpha1"
	"tollgate.dev/tollgate/api/v1alpha1/validation"
	"tollgate.dev/tollgate/internal/translate"
	"tollgate.dev/tollgate/pkg/proxyconfig"
)

// Result is what a policy file says for this pod.
type Result struct {
	// Policy is the policy that applies to this pod, or nil when the file
	// holds a bundle in which no policy selects it.
	Policy *proxyconfig.Policy
	// Source describes where Policy came from, for logs: "LLMPolicy ns/name"
	// or "bundle of ns (n policies)".
	Source string
}

// Parse reads a policy file's content. labels are the pod's labels, used to
// pick a policy from a bundle; an LLMPolicy manifest applies whatever its
// selector says (standalone mode has no pod to select).
func Parse(data []byte, labels map[string]string) (Result, error) {
	var head struct {
		APIVersion string `json:"apiVersion"`
		Kind       string `json:"kind"`
	}
	if err := yaml.Unmarshal(data, &head); err != nil {
		return Result{}, fmt.Errorf("not YAML or JSON: %w", err)
	}
	switch {
	case head.APIVersion == v1alpha1.GroupVersion.String() && head.Kind == "LLMPolicy":
		return parsePolicy(data)
	case head.Kind == proxyconfig.KindBundle:
		return parseBundle(data, labels)
	case head.APIVersion == "" && head.Kind == "":
		return Result{}, errors.New("the file has no apiVersion and kind; expected an LLMPolicy (apiVersion: tollgate.dev/v1alpha1) or an operator-rendered Bundle")
	}
	return Result{}, fmt.Errorf("apiVersion %q kind %q is neither an LLMPolicy (tollgate.dev/v1alpha1) nor a Bundle (%s)", head.APIVersion, head.Kind, proxyconfig.APIVersion)
}

func parsePolicy(data []byte) (Result, error) {
	if n := documents(data); n > 1 {
		return Result{}, fmt.Errorf("the file holds %d YAML documents; a policy file holds exactly one LLMPolicy", n)
	}
	p, err := validation.Decode(data)
	if err != nil {
		return Result{}, fmt.Errorf("LLMPolicy: %w", err)
	}
	out, err := translate.File(p)
	if err != nil {
		return Result{}, err
	}
	return Result{Policy: &out, Source: "LLMPolicy " + out.Ref()}, nil
}

func parseBundle(data []byte, labels map[string]string) (Result, error) {
	jsonData, err := yaml.YAMLToJSON(data)
	if err != nil {
		return Result{}, fmt.Errorf("bundle: %w", err)
	}
	b, err := proxyconfig.Decode(jsonData)
	if err != nil {
		return Result{}, fmt.Errorf("bundle: %w", err)
	}
	if err := b.Validate(); err != nil {
		return Result{}, fmt.Errorf("bundle of namespace %s is invalid: %w", b.Namespace, err)
	}
	src := fmt.Sprintf("bundle of %s (%d policies)", b.Namespace, len(b.Policies))
	p := b.Select(labels)
	if p == nil {
		return Result{Source: src}, nil
	}
	out := p.Clone()
	return Result{Policy: &out, Source: src + ": LLMPolicy " + out.Ref()}, nil
}

// ReadLabels reads a pod's labels from a downward API file: one
// key="value" line per label, the value quoted as by strconv.Quote.
func ReadLabels(path string) (map[string]string, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read pod labels: %w", err)
	}
	labels := map[string]string{}
	sc := bufio.NewScanner(bytes.NewReader(data))
	for line := 1; sc.Scan(); line++ {
		text := strings.TrimSpace(sc.Text())
		if text == "" {
			continue
		}
		key, quoted, ok := strings.Cut(text, "=")
		if !ok {
			return nil, fmt.Errorf("%s:%d: %q is not key=\"value\"", path, line, text)
		}
		value, err := strconv.Unquote(quoted)
		if err != nil {
			return nil, fmt.Errorf("%s:%d: the value of %s is not a quoted string: %w", path, line, key, err)
		}
		labels[key] = value
	}
	return labels, sc.Err()
}

// documents counts the YAML documents in data that hold more than
// comments: sigs.k8s.io/yaml would silently read only the first.
func documents(data []byte) int {
	n, content := 0, false
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(nil, len(data)+1)
	for sc.Scan() {
		line := strings.TrimRight(sc.Text(), " \t\r")
		switch {
		case line == "---" || strings.HasPrefix(line, "--- "):
			if content {
				n++
			}
			content = false
		case strings.TrimSpace(line) != "" && !strings.HasPrefix(strings.TrimSpace(line), "#"):
			content = true
		}
	}
	if content {
		n++
	}
	return n
}
