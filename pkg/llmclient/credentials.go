package llmclient

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// readKey reads provider's API key from dir/<provider>, the layout the
// operator mounts a credentials Secret in. The key never leaves this
// package except in the upstream auth header.
func readKey(dir, name string) (string, error) {
	if dir == "" {
		return "", fmt.Errorf("provider %s names a credentials Secret, but no credentials directory is set: pass --credentials-dir", name)
	}
	path := filepath.Join(dir, name)
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return "", fmt.Errorf("provider %s names a credentials Secret, but %s does not exist: mount the Secret there or remove credentialsSecretRef", name, path)
	}
	if err != nil {
		return "", fmt.Errorf("read the API key of provider %s: %w", name, err)
	}
	key := strings.TrimSpace(string(b))
	if key == "" {
		return "", fmt.Errorf("the API key file %s of provider %s is empty", path, name)
	}
	return key, nil
}
