package operator

import (
	"fmt"
	"net/http"
	"strings"
	"time"

	"sigs.k8s.io/controller-runtime/pkg/manager"
)

// readyCheck is one condition of /readyz; its error says what the operator
// waits for.
type readyCheck struct {
	name  string
	check func(*http.Request) error
}

// addProbes serves /healthz and /readyz at addr ("0": not at all), in
// place of the manager's probe server: that one answers a failing /readyz
// with "reason withheld", and what the operator waits for (a certificate,
// the kubelet, a caBundle) is what someone reading /readyz needs. The
// reasons name objects and directories, nothing secret.
func addProbes(mgr manager.Manager, addr string, checks []readyCheck) error {
	if addr == "0" {
		return nil
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, _ *http.Request) { fmt.Fprint(w, "ok") })
	mux.Handle("/readyz", readyHandler(checks))
	return mgr.Add(&manager.Server{
		Name:   "health probe",
		Server: &http.Server{Addr: addr, Handler: mux, ReadHeaderTimeout: 10 * time.Second},
	})
}

// readyHandler answers 200 "ok" when every check passes, else 500 with a
// line per failing check: "<name>: <what it waits for>".
func readyHandler(checks []readyCheck) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		var failed []string
		for _, c := range checks {
			if err := c.check(r); err != nil {
				failed = append(failed, c.name+": "+err.Error())
			}
		}
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		if len(failed) > 0 {
			w.WriteHeader(http.StatusInternalServerError)
			fmt.Fprintf(w, "not ready\n%s\n", strings.Join(failed, "\n"))
			return
		}
		fmt.Fprint(w, "ok")
	}
}
