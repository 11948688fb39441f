package operator

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/go-logr/logr"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/zap/zapcore"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"tollgate.dev/tollgate/internal/testkit/jsonlog"
)

// stackError formats itself with a stack under %+v, as github.com/pkg/errors
// does.
type stackError struct{}

func (stackError) Error() string { return "acquiring secret" }

func (stackError) Format(s fmt.State, verb rune) {
	if verb == 'v' && s.Flag('+') {
		fmt.Fprint(s, "acquiring secret\nmain.main\n\t/src/main.go:12")
		return
	}
	fmt.Fprint(s, "acquiring secret")
}

func TestLogger_WritesEachKeyOnceAndErrorsWithoutStacks(t *testing.T) {
	conflict := apierrors.NewConflict(schema.GroupResource{Group: "tollgate.dev", Resource: "llmpolicies"}, "chat", errors.New("the object has been modified"))
	tests := map[string]struct {
		log       func(l logr.Logger)
		wantLevel string
		want      map[string]any
		wantNone  []string
	}{
		"a key of the logger repeated by the line": {
			log: func(l logr.Logger) {
				l.WithValues("controller", "llmpolicy", "namespace", "a").Info("bundle written", "namespace", "a", "hash", "h")
			},
			wantLevel: "info",
			want:      map[string]any{"controller": "llmpolicy", "namespace": "a", "hash": "h"},
		},
		"a key repeated with another value: the later one": {
			log:       func(l logr.Logger) { l.WithValues("name", "x").WithValues("name", "y").Info("m", "gvk", "g") },
			wantLevel: "info",
			want:      map[string]any{"name": "y", "gvk": "g"},
		},
		"an error that formats itself with a stack": {
			log: func(l logr.Logger) {
				l.WithName("cert-rotation").Error(stackError{}, "could not refresh", "error", "ignored")
			},
			wantLevel: "error",
			want:      map[string]any{"logger": "cert-rotation", "error": "acquiring secret"},
			wantNone:  []string{"errorVerbose", "stacktrace"},
		},
		"an error among the values": {
			log:       func(l logr.Logger) { l.Info("m", "cause", stackError{}) },
			wantLevel: "info",
			want:      map[string]any{"cause": "acquiring secret"},
			wantNone:  []string{"causeVerbose"},
		},
		"an update conflict, which is retried": {
			log: func(l logr.Logger) {
				l.WithValues("name", "x").Error(fmt.Errorf("update status: %w", conflict), "Reconciler error", "name", "x")
			},
			wantLevel: "debug",
			want:      map[string]any{"name": "x", "error": "update status: " + conflict.Error()},
		},
		"a lease released on shutdown": {
			log: func(l logr.Logger) {
				managerLogger(l).Error(errors.New("leader election lost"), "error received after stop sequence was engaged")
			},
			wantLevel: "info",
			want:      map[string]any{"msg": "leader lease released on shutdown"},
		},
		"a lease lost otherwise": {
			log: func(l logr.Logger) {
				managerLogger(l).WithName("x").Error(errors.New("leader election lost"), "operator stopped")
			},
			wantLevel: "error",
			want:      map[string]any{"msg": "operator stopped", "logger": "x"},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			var out bytes.Buffer
			tc.log(jsonLogger(&out, zapcore.DebugLevel))
			require.Equal(t, 1, strings.Count(out.String(), "\n"), out.String())
			assert.Empty(t, jsonlog.Check(out.String(), jsonlog.Options{OnlyJSON: true}))
			var line map[string]any
			require.NoError(t, json.Unmarshal(out.Bytes(), &line))
			assert.Equal(t, tc.wantLevel, line["level"])
			for k, v := range tc.want {
				assert.Equal(t, v, line[k], k)
			}
			for _, k := range tc.wantNone {
				assert.NotContains(t, line, k)
			}
		})
	}
}

func TestLogger_ConflictsAreHiddenAtInfoLevel(t *testing.T) {
	var out bytes.Buffer
	conflict := apierrors.NewConflict(schema.GroupResource{Resource: "secrets"}, "cert", errors.New("modified"))
	jsonLogger(&out, zapcore.InfoLevel).Error(conflict, "could not refresh CA and server certs")
	assert.Empty(t, out.String())
}

func TestManagerLogger_KeepsADiscardingLoggerAsItIs(t *testing.T) {
	assert.NotPanics(t, func() { managerLogger(logr.Discard()).Error(errors.New("x"), "m") })
}
