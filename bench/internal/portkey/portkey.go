package portkey

import (
	"bytes"
	"context"
	_ "embed"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// Version is the version of @portkey-ai/gateway the benchmark installs.
const Version = "1.15.2"

// Packages are what npm installs, each at a pinned version.
var Packages = []string{
	"@portkey-ai/gateway@" + Version,
	// The gateway asks for @hono/node-server ^1.3.3. From 1.14 on, a
	// response built from a fetched one keeps the fetched one's immutable
	// headers, and the gateway then fails every stream with "TypeError:
	// immutable" (Portkey-AI/gateway#1389, open). 1.13.5 is the version
	// the gateway's repository carries a patch for.
	"@hono/node-server@1.13.5",
	// The newest @hono/node-ws whose peer range takes that
	// @hono/node-server; later ones make npm put a second, newer copy of
	// it under the gateway.
	"@hono/node-ws@1.2.0",
	// For the launcher's dispatcher: the undici that node 20 bundles for
	// its fetch.
	"undici@6.24.1",
}

// What a caller of the gateway needs.
const (
	// ChatPath is the gateway's OpenAI chat completions path.
	ChatPath = "/v1/chat/completions"
	// ReadyPath answers 200 once the gateway serves.
	ReadyPath = "/"
)

// installTimeout bounds npm install: a registry that does not answer
// should not hold up the benchmark's other targets for long.
const installTimeout = 5 * time.Minute

const launcherName = "launcher.mjs"

//go:embed launcher.mjs
var launcher []byte

// ErrNoNPM and ErrNoNode say that Install cannot run: the benchmark goes
// on without the peer.
var (
	ErrNoNPM  = errors.New("npm not found on PATH")
	ErrNoNode = errors.New("node not found on PATH")
)

// Gateway is an installed gateway, ready to start.
type Gateway struct {
	// Dir holds the installed packages and the launcher.
	Dir string
	// Node is the node binary that runs it.
	Node string
	// NodeVersion is what node --version says, e.g. v20.20.2.
	NodeVersion string
}

// InstallArgs are npm's arguments to install Packages. Scripts do not
// run: the gateway's postinstall is patch-package, for patches its
// published package does not hold.
func InstallArgs() []string {
	return append([]string{"install", "--no-audit", "--no-fund", "--ignore-scripts"}, Packages...)
}

// Install installs the gateway into dir, which it creates, with npm from
// the registry npm is configured with. It says so on progress once it
// has found npm and node; npm's output goes to log.
func Install(ctx context.Context, dir string, progress, log io.Writer) (Gateway, error) {
	npm, err := exec.LookPath("npm")
	if err != nil {
		return Gateway{}, ErrNoNPM
	}
	node, err := exec.LookPath("node")
	if err != nil {
		return Gateway{}, ErrNoNode
	}
	fmt.Fprintf(progress, "installing the Portkey gateway with %s (%s)\n", npm, strings.Join(Packages, " "))
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return Gateway{}, fmt.Errorf("install the Portkey gateway: %w", err)
	}
	// A package.json of its own keeps npm from installing into a parent
	// directory that has one.
	files := map[string][]byte{
		"package.json": []byte(`{"name": "tollgate-bench-portkey", "private": true}` + "\n"),
		launcherName:   launcher,
	}
	for name, data := range files {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
			return Gateway{}, fmt.Errorf("install the Portkey gateway: %w", err)
		}
	}

	ctx, cancel := context.WithTimeout(ctx, installTimeout)
	defer cancel()
	var out bytes.Buffer
	cmd := exec.CommandContext(ctx, npm, InstallArgs()...)
	cmd.Dir = dir
	cmd.Stdout = io.MultiWriter(log, &out)
	cmd.Stderr = cmd.Stdout
	if err := cmd.Run(); err != nil {
		if ctx.Err() != nil {
			err = fmt.Errorf("%w after %s", ctx.Err(), installTimeout)
		}
		return Gateway{}, fmt.Errorf("npm %s: %w%s", strings.Join(InstallArgs(), " "), err, npmError(out.String()))
	}

	version, err := exec.CommandContext(ctx, node, "--version").Output()
	if err != nil {
		return Gateway{}, fmt.Errorf("node --version: %w", err)
	}
	return Gateway{Dir: dir, Node: node, NodeVersion: strings.TrimSpace(string(version))}, nil
}

// Command is the program and arguments that start the gateway headless
// on port: node itself, so that the process started is the one that
// serves.
func (g Gateway) Command(port int) (path string, args []string) {
	return g.Node, []string{filepath.Join(g.Dir, launcherName), "--port=" + strconv.Itoa(port), "--headless"}
}

// About says what runs, for the report.
func (g Gateway) About() string {
	return fmt.Sprintf("@portkey-ai/gateway %s on node %s", Version, g.NodeVersion)
}

// Header routes a request through the gateway to the OpenAI API at
// baseURL, e.g. http://127.0.0.1:8089/v1: the gateway's openai provider,
// with baseURL in place of api.openai.com.
func Header(baseURL string) http.Header {
	return http.Header{
		"X-Portkey-Provider":    {"openai"},
		"X-Portkey-Custom-Host": {baseURL},
	}
}

// npmError is the line of npm's output that says what went wrong, after
// a colon, for an error message: the first "npm error" line that is not
// one of the error's fields (code, errno, syscall) or where npm's log
// is, else the last line.
func npmError(out string) string {
	var last string
	for line := range strings.Lines(out) {
		line = strings.TrimSpace(line)
		if rest, ok := strings.CutPrefix(line, "npm error "); ok && !npmErrorField(rest) {
			return ": " + line
		}
		if line != "" {
			last = line
		}
	}
	if last == "" {
		return ""
	}
	return ": " + last
}

func npmErrorField(rest string) bool {
	for _, field := range []string{"code ", "errno ", "syscall ", "A complete log "} {
		if strings.HasPrefix(rest, field) {
			return true
		}
	}
	return false
}
