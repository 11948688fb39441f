package ledgerbench

import (
	"context"
	"sync"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/watch"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"tollgate.dev/tollgate/api/v1alpha1"
)

// writeWatch counts the writes of a namespace's LLMPolicies as the API
// server reports them: each MODIFIED event is a new resourceVersion in
// etcd, whichever writer made it.
type writeWatch struct {
	cancel context.CancelFunc
	done   chan struct{}

	mu sync.Mutex // guards seen
	// seen are the writes seen.
	seen []write
}

// write is one new resourceVersion of a policy.
type write struct {
	at     time.Time
	policy string
}

// watchWrites starts counting the writes of ns's LLMPolicies.
func watchWrites(ctx context.Context, c client.WithWatch, ns string) (*writeWatch, error) {
	ctx, cancel := context.WithCancel(ctx)
	w, err := c.Watch(ctx, &v1alpha1.LLMPolicyList{}, client.InNamespace(ns))
	if err != nil {
		cancel()
		return nil, err
	}
	ww := &writeWatch{cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(ww.done)
		ww.loop(ctx, c, ns, w)
	}()
	return ww, nil
}

// loop counts events until ctx ends, watching again from the last version
// seen when the API server ends a watch.
func (ww *writeWatch) loop(ctx context.Context, c client.WithWatch, ns string, w watch.Interface) {
	last := ""
	for {
		// A watch ends with ctx only once it is stopped.
		stopped := make(chan struct{})
		go func(w watch.Interface) {
			select {
			case <-ctx.Done():
				w.Stop()
			case <-stopped:
			}
		}(w)
		for ev := range w.ResultChan() {
			p, ok := ev.Object.(*v1alpha1.LLMPolicy)
			if !ok {
				continue
			}
			last = p.ResourceVersion
			if ev.Type == watch.Modified {
				ww.mu.Lock()
				ww.seen = append(ww.seen, write{at: time.Now(), policy: p.Name})
				ww.mu.Unlock()
			}
		}
		close(stopped)
		w.Stop()
		if ctx.Err() != nil {
			return
		}
		var err error
		if w, err = c.Watch(ctx, &v1alpha1.LLMPolicyList{}, client.InNamespace(ns), &client.ListOptions{Raw: rawFrom(last)}); err != nil {
			return
		}
	}
}

// count is the number of writes seen in [from, to), by policy.
func (ww *writeWatch) count(from, to time.Time) map[string]int {
	ww.mu.Lock()
	defer ww.mu.Unlock()
	n := map[string]int{}
	for _, w := range ww.seen {
		if !w.at.Before(from) && w.at.Before(to) {
			n[w.policy]++
		}
	}
	return n
}

func (ww *writeWatch) stop() {
	ww.cancel()
	<-ww.done
}

// rawFrom watches on from resourceVersion rv, or from now when rv is "".
func rawFrom(rv string) *metav1.ListOptions {
	return &metav1.ListOptions{ResourceVersion: rv}
}
