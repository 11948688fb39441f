// Package portkey installs and starts the benchmark's optional peer, the
// Portkey AI gateway (@portkey-ai/gateway on npm), so that the sidecar's
// numbers stand next to a proxy its users know.
//
// Install puts a pinned version into a directory with npm, with the
// versions of two of its dependencies that its streaming works with, and
// a launcher (launcher.mjs) that node runs directly, so that the process
// the benchmark measures is the one that serves. The launcher gives the
// global fetch an undici dispatcher without body or header timeouts
// before it loads the gateway, and keeps the gateway on loopback.
//
// Nothing here runs in `go test`: the tests cover the command lines and
// headers, never npm.
package portkey
