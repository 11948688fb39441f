// Package ledgerbench measures the operator's budget ledger under many
// sidecars. It starts a real kube-apiserver and etcd (testenv), creates a
// namespace with policies and pods (API objects only: no kubelet runs
// them, and no webhook is installed) and a token bound to each pod, runs
// the real operator binary as a process of its own, and has simulated
// sidecars in this process sync with the operator's ledger, each once a
// second after its last answer, as a real sidecar does.
//
// It measures, after a warm-up: the sync latency the sidecars see, the
// ledger's own time per sync without the wait for the group commit (from
// the operator's metrics), syncs per second, the operator's CPU time and
// memory (from /proc), the API server's and etcd's CPU time, and the
// status writes the ledger makes; then it stops the sidecars, which report
// what they still hold, and checks that each policy's status.budget.spent
// is exactly what its sidecars reported.
//
// Two kinds of simulated sidecar (Options.Clients):
//
//   - lean: a client of pkg/ledgerapi per pod over one shared
//     http.Transport, timing each sync exactly. It sends what a sidecar
//     sends (one batch per sync, numbered, resent until acknowledged) but
//     keeps no state on disk and draws nothing.
//   - sidecar: the sidecar's own ledger client (internal/sidecar/ledger)
//     per pod, with its state directory, its own transport and token file,
//     spending through its Gate. Its syncs cannot be timed from outside,
//     so its latency is the time between two syncs less the interval,
//     which also counts the client's own work.
package ledgerbench
