package ledger

import (
	"fmt"
	"testing"

	"tollgate.dev/tollgate/pkg/ledgerapi"
)

// BenchmarkBook_Sync is one sync with a batch in a book of many pods, as
// a policy selecting that many sidecars sees once a second per pod; it
// runs under the policy's lock.
func BenchmarkBook_Sync(b *testing.B) {
	for _, pods := range []int{10, 1000} {
		b.Run(fmt.Sprintf("%d pods", pods), func(b *testing.B) {
			book := NewBook(monthly("1000000"), timing, may14)
			seq := make([]uint64, pods)
			for i := range pods {
				seq[i] = 1
				if _, err := book.Sync(pod(i), ledgerapi.SyncRequest{Batch: spend(1, may14, "0.000842")}, "e", may14); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportAllocs()
			b.ResetTimer()
			for n := 0; b.Loop(); n++ {
				i := n % pods
				seq[i]++
				if _, err := book.Sync(pod(i), ledgerapi.SyncRequest{Batch: spend(seq[i], may14, "0.000842")}, "e", may14); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
