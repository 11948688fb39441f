package demo

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	"tollgate.dev/tollgate/internal/sidecar/loader"
)

func TestProjectFiles_AnUpdateSwapsDataToANewDirectoryAndRemovesTheOldOne(t *testing.T) {
	dir := t.TempDir()
	t0 := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	require.NoError(t, projectFiles(dir, map[string][]byte{"bundle.json": []byte("v1"), "extra": []byte("x")}, t0))
	first, err := os.Readlink(filepath.Join(dir, dataLink))
	require.NoError(t, err)
	got, err := os.ReadFile(filepath.Join(dir, "bundle.json"))
	require.NoError(t, err)
	assert.Equal(t, "v1", string(got))

	require.NoError(t, projectFiles(dir, map[string][]byte{"bundle.json": []byte("v2")}, t0.Add(time.Second)))
	second, err := os.Readlink(filepath.Join(dir, dataLink))
	require.NoError(t, err)
	assert.NotEqual(t, first, second, "..data points at a new directory")
	got, err = os.ReadFile(filepath.Join(dir, "bundle.json"))
	require.NoError(t, err)
	assert.Equal(t, "v2", string(got))
	target, err := os.Readlink(filepath.Join(dir, "bundle.json"))
	require.NoError(t, err)
	assert.Equal(t, filepath.Join(dataLink, "bundle.json"), target, "the file name stays a symlink through ..data")
	assert.NoDirExists(t, filepath.Join(dir, first), "the old version is removed")
	assert.NoFileExists(t, filepath.Join(dir, "extra"), "a key no longer projected is removed")
}

func TestFormatMap_IsReadBackByTheSidecarsLabelsReader(t *testing.T) {
	labels := map[string]string{
		"app":                    "chat",
		"tollgate.dev/inject":    "true",
		"app.kubernetes.io/name": `a "quoted" value`,
		"empty":                  "",
	}
	path := filepath.Join(t.TempDir(), "labels")
	require.NoError(t, os.WriteFile(path, formatMap(labels), 0o644))
	got, err := loader.ReadLabels(path)
	require.NoError(t, err)
	assert.Equal(t, labels, got)
	assert.Equal(t, "a=\"1\"\nb=\"2\"", string(formatMap(map[string]string{"b": "2", "a": "1"})), "sorted by key, no trailing newline, as the kubelet writes it")
}

func TestHostArgs(t *testing.T) {
	root := containerRoot{dir: "/tmp/pod"}
	tests := map[string]struct {
		args    []string
		replace map[string]string
		want    []string
		wantErr string
	}{
		"absolute paths move under the container's root": {
			args: []string{"--policy=/etc/tollgate/config/bundle.json", "--log-level=info"},
			want: []string{"--policy=/tmp/pod/etc/tollgate/config/bundle.json", "--log-level=info"},
		},
		"replaced flags take the given value, whatever it was": {
			args:    []string{"--listen=127.0.0.1:15000", "--admin=0.0.0.0:15020"},
			replace: map[string]string{"--listen": "127.0.0.1:0", "--admin": "127.0.0.1:0"},
			want:    []string{"--listen=127.0.0.1:0", "--admin=127.0.0.1:0"},
		},
		"flags without a value are kept": {
			args: []string{"--allow-missing-policy"},
			want: []string{"--allow-missing-policy"},
		},
		"a flag to replace that the container does not have is an error": {
			args:    []string{"--listen=127.0.0.1:15000"},
			replace: map[string]string{"--listen": "127.0.0.1:0", "--admin": "127.0.0.1:0"},
			wantErr: "no --admin to replace",
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			got, err := hostArgs(tc.args, root, tc.replace)
			if tc.wantErr != "" {
				require.ErrorContains(t, err, tc.wantErr)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tc.want, got)
		})
	}
}

func TestMountVolumes_WritesTheConfigMapAndTheLabelsWhereTheContainerMountsThem(t *testing.T) {
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": "chat"}},
		Spec: corev1.PodSpec{Volumes: []corev1.Volume{
			{Name: "config", VolumeSource: corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{
				LocalObjectReference: corev1.LocalObjectReference{Name: "tollgate-config"}, Optional: ptr.To(true)}}},
			{Name: "podinfo", VolumeSource: corev1.VolumeSource{DownwardAPI: &corev1.DownwardAPIVolumeSource{
				Items: []corev1.DownwardAPIVolumeFile{{Path: "labels", FieldRef: &corev1.ObjectFieldSelector{FieldPath: "metadata.labels"}}}}}},
		}},
	}
	c := corev1.Container{Name: "sidecar", VolumeMounts: []corev1.VolumeMount{
		{Name: "config", MountPath: "/etc/tollgate/config"},
		{Name: "podinfo", MountPath: "/etc/tollgate/podinfo"},
	}}
	tests := map[string]struct {
		configMap  *corev1.ConfigMap
		wantBundle string // "" for no file
	}{
		"the ConfigMap's keys become files": {
			configMap:  &corev1.ConfigMap{Data: map[string]string{"bundle.json": `{"kind":"Bundle"}`}},
			wantBundle: `{"kind":"Bundle"}`,
		},
		"an optional ConfigMap that does not exist leaves the directory empty": {},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			root := containerRoot{dir: t.TempDir()}
			err := root.mountVolumes(pod, c, volumeSources{configMap: func(name string) (*corev1.ConfigMap, error) {
				assert.Equal(t, "tollgate-config", name)
				return tc.configMap, nil
			}})
			require.NoError(t, err)
			bundle := root.path("/etc/tollgate/config/bundle.json")
			if tc.wantBundle == "" {
				assert.NoFileExists(t, bundle)
			} else {
				got, err := os.ReadFile(bundle)
				require.NoError(t, err)
				assert.Equal(t, tc.wantBundle, string(got))
			}
			labels, err := os.ReadFile(root.path("/etc/tollgate/podinfo/labels"))
			require.NoError(t, err)
			assert.Equal(t, `app="chat"`, string(labels))
		})
	}
}

func TestMountVolumes_WritesABoundTokenAndMakesTheStateDirectory(t *testing.T) {
	pod := &corev1.Pod{Spec: corev1.PodSpec{Volumes: []corev1.Volume{
		{Name: "token", VolumeSource: corev1.VolumeSource{Projected: &corev1.ProjectedVolumeSource{Sources: []corev1.VolumeProjection{
			{ServiceAccountToken: &corev1.ServiceAccountTokenProjection{Audience: "tollgate", ExpirationSeconds: ptr.To[int64](600), Path: "token"}},
		}}}},
		{Name: "state", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}},
	}}}
	c := corev1.Container{Name: "sidecar", VolumeMounts: []corev1.VolumeMount{
		{Name: "token", MountPath: "/var/run/secrets/tollgate"},
		{Name: "state", MountPath: "/var/run/tollgate"},
	}}
	root := containerRoot{dir: t.TempDir()}
	var asked []string
	err := root.mountVolumes(pod, c, volumeSources{token: func(audience string, expirationSeconds int64) ([]byte, error) {
		asked = append(asked, fmt.Sprintf("%s %ds", audience, expirationSeconds))
		return []byte("a.jwt.token"), nil
	}})
	require.NoError(t, err)
	assert.Equal(t, []string{"tollgate 600s"}, asked, "one token, for the projection's audience and lifetime")
	token, err := os.ReadFile(root.path("/var/run/secrets/tollgate/token"))
	require.NoError(t, err)
	assert.Equal(t, "a.jwt.token", string(token))
	assert.DirExists(t, root.path("/var/run/tollgate"))

	// The kubelet's sync of ConfigMaps leaves the token and the state alone.
	require.NoError(t, os.WriteFile(root.path("/var/run/tollgate/spend"), []byte("kept"), 0o600))
	require.NoError(t, root.refreshConfigMaps(pod, c, func(string) (*corev1.ConfigMap, error) {
		t.Fatal("the pod mounts no ConfigMap")
		return nil, nil
	}))
	assert.Equal(t, []string{"tollgate 600s"}, asked, "no new token")
	assert.FileExists(t, root.path("/var/run/tollgate/spend"))
}

func TestMountVolumes_RefusesVolumesItCannotPlay(t *testing.T) {
	tests := map[string]struct {
		volume  corev1.VolumeSource
		wantErr string
	}{
		"a projected Secret": {
			volume:  corev1.VolumeSource{Projected: &corev1.ProjectedVolumeSource{Sources: []corev1.VolumeProjection{{Secret: &corev1.SecretProjection{}}}}},
			wantErr: "only serviceAccountToken sources",
		},
		"a host path": {
			volume:  corev1.VolumeSource{HostPath: &corev1.HostPathVolumeSource{Path: "/etc"}},
			wantErr: "only ConfigMap, downward API, projected token and emptyDir volumes",
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			pod := &corev1.Pod{Spec: corev1.PodSpec{Volumes: []corev1.Volume{{Name: "creds", VolumeSource: tc.volume}}}}
			c := corev1.Container{Name: "sidecar", VolumeMounts: []corev1.VolumeMount{{Name: "creds", MountPath: "/etc/tollgate/credentials"}}}
			err := containerRoot{dir: t.TempDir()}.mountVolumes(pod, c, volumeSources{})
			require.ErrorContains(t, err, tc.wantErr)
		})
	}
}

func TestContainerEnv(t *testing.T) {
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "chat-app", Namespace: "tollgate-demo", UID: "0b3c-uid"}}
	field := func(path string) *corev1.EnvVarSource {
		return &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: path}}
	}
	tests := map[string]struct {
		env     []corev1.EnvVar
		want    []string
		wantErr string
	}{
		"the pod's UID from the downward API": {
			env:  []corev1.EnvVar{{Name: "POD_UID", ValueFrom: field("metadata.uid")}, {Name: "MODE", Value: "demo"}},
			want: []string{"POD_UID=0b3c-uid", "MODE=demo"},
		},
		"a field the demo's kubelet does not know": {
			env:     []corev1.EnvVar{{Name: "NODE", ValueFrom: field("spec.nodeName")}},
			wantErr: "does not set spec.nodeName",
		},
		"a variable from a Secret": {
			env:     []corev1.EnvVar{{Name: "KEY", ValueFrom: &corev1.EnvVarSource{SecretKeyRef: &corev1.SecretKeySelector{Key: "k"}}}},
			wantErr: "only values and fieldRef variables",
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			got, err := containerEnv(pod, corev1.Container{Env: tc.env})
			if tc.wantErr != "" {
				require.ErrorContains(t, err, tc.wantErr)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tc.want, got)
		})
	}
}
