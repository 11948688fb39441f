package mockprovider

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"
)

// Server is the mock provider: an http.Handler with a script of answers,
// optionally serving on its own listener (Start). It is safe for
// concurrent use.
type Server struct {
	queue    queue
	base     *script // the default step Reset restores
	history  history
	inFlight atomic.Int64
	ids      atomic.Uint64 // numbers the ids of answers

	// done is closed by Close: it ends hangs, delays and streams so that
	// shutting down never waits on a scripted pause.
	done      chan struct{}
	closeOnce sync.Once

	// Set by Start, read-only afterwards.
	httpServer *http.Server
	url        string
	served     chan struct{} // closed when the serve goroutine returns
	serveMu    sync.Mutex    // guards serveErr
	serveErr   error
}

// Option configures a Server.
type Option func(*Server)

// WithDefault sets the step answering requests when nothing is queued, and
// that Reset restores. Without it, requests get a plain 200 answer.
func WithDefault(step Step) Option {
	return func(s *Server) { s.base = compile(step) }
}

// WithHistory sets how many of the most recent requests Requests returns
// (DefaultHistorySize without it); 0 records none.
func WithHistory(n int) Option {
	return func(s *Server) { s.history.limit = max(n, 0) }
}

// WithRecordBodyBytes sets how many bytes of each request body are
// recorded (DefaultRecordBodyBytes without it); 0 records none.
func WithRecordBodyBytes(n int) Option {
	return func(s *Server) { s.history.bodyLimit = max(n, 0) }
}

// New returns a Server that is not listening yet: call Start, or serve it
// as an http.Handler (e.g. with httptest.NewServer).
func New(opts ...Option) *Server {
	s := &Server{
		base: compile(Step{}),
		done: make(chan struct{}),
		history: history{
			limit:     DefaultHistorySize,
			bodyLimit: DefaultRecordBodyBytes,
		},
	}
	for _, opt := range opts {
		opt(s)
	}
	s.queue.def.Store(s.base)
	return s
}

// Start returns a Server listening on addr (e.g. "127.0.0.1:0").
func Start(addr string, opts ...Option) (*Server, error) {
	s := New(opts...)
	if err := s.Start(addr); err != nil {
		return nil, err
	}
	return s, nil
}

// Start listens on addr and serves in a goroutine until Close.
func (s *Server) Start(addr string) error {
	if s.httpServer != nil {
		return errors.New("mock provider already started")
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", addr, err)
	}
	s.url = "http://" + ln.Addr().String()
	s.served = make(chan struct{})
	s.httpServer = &http.Server{
		Handler: s,
		// No write timeout: streams are as long as the script makes them.
		ReadHeaderTimeout: 30 * time.Second,
		IdleTimeout:       2 * time.Minute,
	}
	go func() {
		defer close(s.served)
		if err := s.httpServer.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
			s.serveMu.Lock()
			s.serveErr = fmt.Errorf("serve: %w", err)
			s.serveMu.Unlock()
		}
	}()
	return nil
}

// URL is the base URL of a started server, e.g. "http://127.0.0.1:41234";
// "" before Start.
func (s *Server) URL() string { return s.url }

// Close ends hanging and delayed answers and open streams, stops the
// server started by Start and waits for it. It is safe to call more than
// once.
func (s *Server) Close() error {
	s.closeOnce.Do(func() { close(s.done) })
	if s.httpServer == nil {
		return nil
	}
	// Handlers end promptly once done is closed, so a graceful shutdown is
	// quick; Close cuts streams to clients that stopped reading.
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := s.httpServer.Shutdown(ctx); err != nil {
		_ = s.httpServer.Close()
	}
	<-s.served
	s.serveMu.Lock()
	defer s.serveMu.Unlock()
	return s.serveErr
}

// Enqueue adds steps to the queue shared by all requests; each request
// takes the oldest step.
func (s *Server) Enqueue(steps ...Step) { s.queue.push("", steps) }

// EnqueueFor adds steps to model's queue, which requests for that model
// take from before the shared queue. An empty model is Enqueue.
func (s *Server) EnqueueFor(model string, steps ...Step) { s.queue.push(model, steps) }

// SetDefault sets the step answering requests when nothing is queued.
func (s *Server) SetDefault(step Step) { s.queue.def.Store(compile(step)) }

// Pending is the number of queued steps not yet taken by a request.
func (s *Server) Pending() int { return int(s.queue.pending.Load()) }

// Requests returns the most recent requests received, oldest first.
func (s *Server) Requests() []Request { return s.history.list() }

// Received is the number of requests received since start or Reset,
// including those no longer in Requests.
func (s *Server) Received() int64 { return s.history.received() }

// InFlight is the number of requests being answered now: a test waits for
// it to drop to see that a hang or delay ended when its client went away.
func (s *Server) InFlight() int { return int(s.inFlight.Load()) }

// Reset empties the queues and the recorded requests and restores the
// default step given to New (WithDefault). Answers in progress go on.
func (s *Server) Reset() {
	s.queue.clear()
	s.queue.def.Store(s.base)
	s.history.clear()
}
