package install

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestDockerfiles_BuildOneStaticNonRootBinaryEach reads the Dockerfiles
// (this machine cannot run docker build) and checks what the build needs
// to get right: the builder's Go matches go.mod, the binary is static and
// stripped, the image is distroless and non-root, and every package the
// binary is built from is inside the directories the Dockerfile copies.
func TestDockerfiles_BuildOneStaticNonRootBinaryEach(t *testing.T) {
	gomod, err := os.ReadFile(filepath.Join(env.RepoRoot, "go.mod"))
	require.NoError(t, err)
	goLine := regexp.MustCompile(`(?m)^go (\d+\.\d+)(\.\d+)?$`).FindStringSubmatch(string(gomod))
	require.NotNil(t, goLine, "no go directive in go.mod")
	goMinor := goLine[1]

	for _, binary := range []string{"operator", "sidecar"} {
		t.Run(binary, func(t *testing.T) {
			content, err := os.ReadFile(filepath.Join(env.RepoRoot, "Dockerfile."+binary))
			require.NoError(t, err)
			df := string(content)
			name := "tollgate-" + binary

			froms := regexp.MustCompile(`(?m)^FROM\s+(?:--platform=\S+\s+)?(\S+)`).FindAllStringSubmatch(df, -1)
			require.Len(t, froms, 2, "a builder stage and a final stage")
			assert.Equal(t, "golang:"+goMinor, froms[0][1], "the builder's Go must match go.mod's go %s", goLine[0])
			assert.Equal(t, "gcr.io/distroless/static:nonroot", froms[1][1])

			build := regexp.MustCompile(`(?s)RUN [^\n]*(?:\\\n[^\n]*)*go build[^\n]*`).FindString(df)
			require.NotEmpty(t, build, "no go build step")
			assert.Contains(t, build, "CGO_ENABLED=0")
			assert.Contains(t, build, "-trimpath")
			assert.Contains(t, build, `-ldflags "-s -w"`)
			assert.Contains(t, build, "-o /out/"+name+" ./cmd/"+binary)

			final := df[strings.LastIndex(df, "\nFROM "):]
			assert.Contains(t, final, "COPY --from=build /out/"+name+" /"+name)
			assert.Contains(t, final, "\nUSER 65532:65532\n")
			assert.Contains(t, final, `ENTRYPOINT ["/`+name+`"]`)

			var copied []string
			for _, m := range regexp.MustCompile(`(?m)^COPY (\S+)/ \S+/$`).FindAllStringSubmatch(df, -1) {
				copied = append(copied, m[1])
			}
			stdout, stderr, err := run(t, "", "go", "list", "-deps", "-f", "{{if not .Standard}}{{.Dir}}{{end}}", "./cmd/"+binary)
			require.NoError(t, err, "go list ./cmd/%s: %s", binary, stderr)
			for _, dir := range strings.Fields(stdout) {
				rel, err := filepath.Rel(env.RepoRoot, dir)
				if err != nil || strings.HasPrefix(rel, "..") {
					continue // a module dependency, downloaded by go mod download
				}
				top := strings.Split(filepath.ToSlash(rel), "/")[0]
				assert.Contains(t, copied, top, "./cmd/%s needs %s, which Dockerfile.%s does not copy", binary, rel, binary)
			}
		})
	}
}
