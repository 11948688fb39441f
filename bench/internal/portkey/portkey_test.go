package portkey

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestInstallArgs_PinEveryPackageAndRunNoScripts(t *testing.T) {
	args := InstallArgs()
	assert.Equal(t, []string{"install", "--no-audit", "--no-fund", "--ignore-scripts"}, args[:4])
	assert.Contains(t, args, "@portkey-ai/gateway@1.15.2")
	for _, p := range args[4:] {
		name, version, ok := strings.Cut(strings.TrimPrefix(p, "@"), "@")
		assert.True(t, ok, "%s has a version", p)
		assert.NotEmpty(t, name)
		assert.Regexp(t, `^\d+\.\d+\.\d+$`, version, "%s is pinned to one version, not a range", p)
	}
}

func TestCommand_RunsTheLauncherWithNodeHeadlessOnThePort(t *testing.T) {
	g := Gateway{Dir: "/tmp/pk", Node: "/usr/bin/node", NodeVersion: "v20.20.2"}
	path, args := g.Command(18787)
	assert.Equal(t, "/usr/bin/node", path, "node itself, not npm or npx, so that the pid is the server's")
	assert.Equal(t, []string{"/tmp/pk/launcher.mjs", "--port=18787", "--headless"}, args)
	assert.Equal(t, "@portkey-ai/gateway 1.15.2 on node v20.20.2", g.About())
}

func TestLauncher_GivesFetchADispatcherWithoutBodyTimeoutsBeforeLoadingTheGateway(t *testing.T) {
	src := string(launcher)
	dispatcher := strings.Index(src, "setGlobalDispatcher(new Agent({ bodyTimeout: 0, headersTimeout: 0 }))")
	gateway := strings.Index(src, "await import('@portkey-ai/gateway/build/start-server.js')")
	assert.Positive(t, dispatcher)
	assert.Greater(t, gateway, dispatcher)
}

func TestHeader_RoutesToTheOpenAIProviderAtTheBaseURL(t *testing.T) {
	h := Header("http://127.0.0.1:8089/v1")
	assert.Equal(t, "openai", h.Get("x-portkey-provider"))
	assert.Equal(t, "http://127.0.0.1:8089/v1", h.Get("x-portkey-custom-host"))
}

func TestNPMError_SaysWhatWentWrong(t *testing.T) {
	tests := map[string]struct {
		out  string
		want string
	}{
		"a version the registry lacks": {
			out: "npm error code ETARGET\nnpm error notarget No matching version found for @portkey-ai/gateway@9.9.9.\n" +
				"npm error notarget In most cases you or one of your dependencies are requesting a package version that doesn't exist.\n" +
				"npm error A complete log of this run can be found in: /root/.npm/_logs/x-debug-0.log\n",
			want: ": npm error notarget No matching version found for @portkey-ai/gateway@9.9.9.",
		},
		"a registry that does not answer": {
			out: "npm error code ECONNREFUSED\nnpm error syscall connect\nnpm error errno ECONNREFUSED\n" +
				"npm error FetchError: request to http://127.0.0.1:9/undici failed, reason: connect ECONNREFUSED 127.0.0.1:9\n" +
				"npm error     at ClientRequest.<anonymous> (/usr/lib/node_modules/npm/node_modules/minipass-fetch/lib/index.js:130:14)\n",
			want: ": npm error FetchError: request to http://127.0.0.1:9/undici failed, reason: connect ECONNREFUSED 127.0.0.1:9",
		},
		"no npm error line: the last line": {out: "fetch failed\n\n", want: ": fetch failed"},
		"no output":                        {out: "", want: ""},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			assert.Equal(t, tc.want, npmError(tc.out))
		})
	}
}
