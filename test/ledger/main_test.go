// Package ledgere2e tests the namespace-wide budget: the operator's budget
// ledger and the sidecar's ledger client, both the real code, in process,
// against a real kube-apiserver (TokenReview, status writes), with the
// mock provider answering and pricing every request.
package ledgere2e

import (
	"io"
	"net/http"
	"testing"

	"tollgate.dev/tollgate/internal/testkit/testenv"
)

var env *testenv.Env

func TestMain(m *testing.M) { testenv.Main(m, &env) }

// ioCopy drains and closes an answer's body.
func ioCopy(resp *http.Response) (int64, error) {
	defer resp.Body.Close()
	return io.Copy(io.Discard, resp.Body)
}
