package failures

import (
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"strconv"
)

// DefaultLimit is how many records /failures shows without ?limit=.
const DefaultLimit = 20

// Handler serves the newest records of s, newest first, as JSON:
//
//	GET /failures?limit=N   {"count": n, "stored": m, "memory_only": k, "disk_error": "...", "records": [...]}
//
// to loopback clients only (kubectl port-forward and kubectl exec come
// from there): records may hold request bodies and providers' error
// answers, and the admin port is open to the pod network for probes and
// metrics. With s nil (no --failure-records-dir) it says how to turn
// records on.
func Handler(s *Store) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !fromLoopback(r) {
			writeError(w, http.StatusForbidden, "failure records may hold request bodies and providers' error answers: /failures answers loopback clients only; "+
				"run kubectl port-forward pod/POD 15020 and curl localhost:15020/failures, or kubectl exec into the pod")
			return
		}
		if s == nil {
			writeError(w, http.StatusNotFound, "failure records are off: start the sidecar with --failure-records-dir (the injected sidecar keeps them in its emptyDir)")
			return
		}
		limit := DefaultLimit
		if v := r.URL.Query().Get("limit"); v != "" {
			n, err := strconv.Atoi(v)
			if err != nil || n < 1 {
				writeError(w, http.StatusBadRequest, fmt.Sprintf("limit %q must be a positive number of records, e.g. /failures?limit=50", v))
				return
			}
			limit = n
		}
		snap := s.Newest(limit)
		w.Header().Set("Content-Type", "application/json")
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		_ = enc.Encode(struct {
			Count      int               `json:"count"`
			Stored     int               `json:"stored"`
			MemoryOnly int               `json:"memory_only"`
			DiskError  string            `json:"disk_error,omitempty"`
			Records    []json.RawMessage `json:"records"`
		}{len(snap.Records), snap.Stored, snap.MemoryOnly, snap.DiskError, snap.Records})
	})
}

func fromLoopback(r *http.Request) bool {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return false
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

func writeError(w http.ResponseWriter, status int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]string{"error": msg})
}
