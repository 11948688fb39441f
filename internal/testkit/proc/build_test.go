package proc

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestBuild(t *testing.T) {
	tests := map[string]struct {
		race    bool
		main    string
		wantErr []string
	}{
		"a plain build": {
			main: "package main\n\nfunc main() { println(\"hello\") }\n",
		},
		"with the race detector": {
			race: true, main: "package main\n\nfunc main() { println(\"hello\") }\n",
		},
		"a compile error comes with the compiler's output": {
			main:    "package main\n\nfunc main() { undefinedThing() }\n",
			wantErr: []string{"go build -o ", "./cmd/hello", "undefined: undefinedThing"},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			root := t.TempDir()
			require.NoError(t, os.WriteFile(filepath.Join(root, "go.mod"), []byte("module example.com/hello\n\ngo 1.26\n"), 0o644))
			require.NoError(t, os.MkdirAll(filepath.Join(root, "cmd", "hello"), 0o755))
			require.NoError(t, os.WriteFile(filepath.Join(root, "cmd", "hello", "main.go"), []byte(tc.main), 0o644))
			dir := filepath.Join(t.TempDir(), "bin")

			bins, err := Build(t.Context(), root, dir, tc.race, "./cmd/hello")

			if tc.wantErr != nil {
				require.Error(t, err)
				for _, s := range tc.wantErr {
					assert.Contains(t, err.Error(), s)
				}
				return
			}
			require.NoError(t, err)
			require.Equal(t, map[string]string{"./cmd/hello": filepath.Join(dir, "hello")}, bins)
			out, err := exec.Command(bins["./cmd/hello"]).CombinedOutput()
			require.NoError(t, err)
			assert.Equal(t, "hello\n", string(out))
			info, err := exec.Command("go", "version", "-m", bins["./cmd/hello"]).Output()
			require.NoError(t, err)
			assert.Equal(t, tc.race, strings.Contains(string(info), "build\t-race=true"), "the build settings:\n%s", info)
		})
	}
}

func TestBinaryPath_IsTheLastElementOfThePackage(t *testing.T) {
	assert.Equal(t, filepath.Join("bin", "mock-provider"), BinaryPath("bin", "./cmd/mock-provider"))
	assert.Equal(t, filepath.Join("bin", "plainproxy"), BinaryPath("bin", "tollgate.dev/tollgate/bench/cmd/plainproxy"))
}
