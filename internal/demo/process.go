package demo

import (
	"time"

	"tollgate.dev/tollgate/internal/testkit/proc"
)

// stopGrace is how long a process may take to exit after SIGTERM before
// it is killed.
const stopGrace = 10 * time.Second

// startProcess starts path with args and env added to the demo's own
// environment, and with the race detector's exit delay off. The process
// gets its own process group, so that a Ctrl-C in the terminal reaches
// only the demo, which then stops its processes in order. Its output is
// kept for the narration of a failure, and copied to the demo's sink when
// there is one.
func (d *demo) startProcess(name, path string, args, env []string) (*proc.Process, error) {
	spec := proc.Spec{Name: name, Path: path, Args: args, Env: append(env, proc.RaceEnv), OwnGroup: true}
	if d.sink != nil {
		spec.Output = d.sink.Prefixed(name)
	}
	return proc.Start(spec)
}
