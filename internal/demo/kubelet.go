package demo

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
)

// containerRoot plays the kubelet for one container of a pod on this
// machine: the container's file system is the directory dir, where its
// volumes are mounted and to which its absolute paths are moved.
type containerRoot struct {
	dir string
}

// path is where the container's absolute path p is on this machine.
func (r containerRoot) path(p string) string {
	return filepath.Join(r.dir, filepath.FromSlash(p))
}

// volumeSources are what the kubelet asks the API server for to fill a
// pod's volumes.
type volumeSources struct {
	// configMap returns a ConfigMap of the pod's namespace by name, or nil
	// when it does not exist.
	configMap func(name string) (*corev1.ConfigMap, error)
	// token returns a token of the pod's ServiceAccount bound to the pod,
	// for audience and valid for expirationSeconds: the TokenRequest the
	// kubelet makes for a projected serviceAccountToken.
	token func(audience string, expirationSeconds int64) ([]byte, error)
}

// mountVolumes writes the volumes c mounts, as the kubelet would before
// starting it: ConfigMaps, the downward API's labels, projected
// ServiceAccount tokens and emptyDirs. Other volume types are refused: the
// demo's pods have none.
func (r containerRoot) mountVolumes(pod *corev1.Pod, c corev1.Container, src volumeSources) error {
	return r.mount(pod, c, src, func(corev1.Volume) bool { return true })
}

// refreshConfigMaps writes c's ConfigMap volumes again: the kubelet's
// periodic sync, which updates them in place (within a minute or so in a
// cluster).
func (r containerRoot) refreshConfigMaps(pod *corev1.Pod, c corev1.Container, configMap func(name string) (*corev1.ConfigMap, error)) error {
	return r.mount(pod, c, volumeSources{configMap: configMap}, func(v corev1.Volume) bool { return v.ConfigMap != nil })
}

// mount writes the volumes of c that want selects.
func (r containerRoot) mount(pod *corev1.Pod, c corev1.Container, src volumeSources, want func(corev1.Volume) bool) error {
	for _, m := range c.VolumeMounts {
		i := slices.IndexFunc(pod.Spec.Volumes, func(v corev1.Volume) bool { return v.Name == m.Name })
		if i < 0 {
			return fmt.Errorf("container %s mounts volume %s, which the pod does not have", c.Name, m.Name)
		}
		v := pod.Spec.Volumes[i]
		if !want(v) {
			continue
		}
		dir := r.path(m.MountPath)
		var files map[string][]byte
		switch {
		case v.ConfigMap != nil:
			cm, err := src.configMap(v.ConfigMap.Name)
			if err != nil {
				return err
			}
			if cm == nil && (v.ConfigMap.Optional == nil || !*v.ConfigMap.Optional) {
				return fmt.Errorf("volume %s: ConfigMap %s does not exist and is not optional", v.Name, v.ConfigMap.Name)
			}
			files = configMapFiles(cm, v.ConfigMap.Items)
		case v.DownwardAPI != nil:
			var err error
			if files, err = downwardAPIFiles(pod, v.DownwardAPI.Items); err != nil {
				return fmt.Errorf("volume %s: %w", v.Name, err)
			}
		case v.Projected != nil:
			var err error
			if files, err = tokenFiles(v.Projected.Sources, src.token); err != nil {
				return fmt.Errorf("volume %s: %w", v.Name, err)
			}
		case v.EmptyDir != nil:
			// A fresh directory for the pod's life; a container restart
			// finds what it left there.
			if err := os.MkdirAll(dir, 0o755); err != nil {
				return fmt.Errorf("mount volume %s at %s: %w", v.Name, m.MountPath, err)
			}
			continue
		default:
			return fmt.Errorf("volume %s: the demo's kubelet mounts only ConfigMap, downward API, projected token and emptyDir volumes", v.Name)
		}
		if err := projectFiles(dir, files, time.Now()); err != nil {
			return fmt.Errorf("mount volume %s at %s: %w", v.Name, m.MountPath, err)
		}
	}
	return nil
}

// defaultTokenExpiration is the lifetime the API server gives a projected
// token that does not set one.
const defaultTokenExpiration = 3600

// tokenFiles are the files of a projected volume of ServiceAccount tokens:
// one per source, from token. Other sources are refused: the injector
// projects only the ledger's token.
func tokenFiles(sources []corev1.VolumeProjection, token func(audience string, expirationSeconds int64) ([]byte, error)) (map[string][]byte, error) {
	files := map[string][]byte{}
	for i, s := range sources {
		t := s.ServiceAccountToken
		if t == nil {
			return nil, fmt.Errorf("source %d: the demo's kubelet projects only serviceAccountToken sources", i)
		}
		expiration := int64(defaultTokenExpiration)
		if t.ExpirationSeconds != nil {
			expiration = *t.ExpirationSeconds
		}
		b, err := token(t.Audience, expiration)
		if err != nil {
			return nil, fmt.Errorf("request a token for audience %q: %w", t.Audience, err)
		}
		files[t.Path] = b
	}
	return files, nil
}

// containerEnv is the environment the kubelet gives c: its values, and
// its downward API fields of pod. Other sources are refused: the
// injected sidecar has none.
func containerEnv(pod *corev1.Pod, c corev1.Container) ([]string, error) {
	env := make([]string, 0, len(c.Env))
	for _, e := range c.Env {
		value := e.Value
		if from := e.ValueFrom; from != nil {
			if from.FieldRef == nil {
				return nil, fmt.Errorf("env %s: the demo's kubelet sets only values and fieldRef variables", e.Name)
			}
			switch from.FieldRef.FieldPath {
			case "metadata.uid":
				value = string(pod.UID)
			case "metadata.name":
				value = pod.Name
			case "metadata.namespace":
				value = pod.Namespace
			case "spec.serviceAccountName":
				value = pod.Spec.ServiceAccountName
			default:
				return nil, fmt.Errorf("env %s: the demo's kubelet does not set %s", e.Name, from.FieldRef.FieldPath)
			}
		}
		env = append(env, e.Name+"="+value)
	}
	return env, nil
}

// configMapFiles are the files of a ConfigMap volume: every key, or the
// items named. A missing ConfigMap has none.
func configMapFiles(cm *corev1.ConfigMap, items []corev1.KeyToPath) map[string][]byte {
	files := map[string][]byte{}
	if cm == nil {
		return files
	}
	all := map[string][]byte{}
	for k, v := range cm.Data {
		all[k] = []byte(v)
	}
	for k, v := range cm.BinaryData {
		all[k] = v
	}
	if len(items) == 0 {
		return all
	}
	for _, it := range items {
		if v, ok := all[it.Key]; ok {
			files[it.Path] = v
		}
	}
	return files
}

// downwardAPIFiles are the files of a downward API volume; only
// metadata.labels and metadata.annotations are known to the demo.
func downwardAPIFiles(pod *corev1.Pod, items []corev1.DownwardAPIVolumeFile) (map[string][]byte, error) {
	files := map[string][]byte{}
	for _, it := range items {
		if it.FieldRef == nil {
			return nil, fmt.Errorf("item %s: the demo's kubelet only projects fieldRef items", it.Path)
		}
		switch it.FieldRef.FieldPath {
		case "metadata.labels":
			files[it.Path] = formatMap(pod.Labels)
		case "metadata.annotations":
			files[it.Path] = formatMap(pod.Annotations)
		default:
			return nil, fmt.Errorf("item %s: the demo's kubelet does not project %s", it.Path, it.FieldRef.FieldPath)
		}
	}
	return files, nil
}

// formatMap is how the kubelet writes labels and annotations into a
// downward API file: key="value" lines sorted by key, the value quoted.
func formatMap(m map[string]string) []byte {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	lines := make([]string, 0, len(keys))
	for _, k := range keys {
		lines = append(lines, k+"="+strconv.Quote(m[k]))
	}
	return []byte(strings.Join(lines, "\n"))
}

// dataLink is the symlink through which the kubelet's projected files
// point at their current timestamped directory.
const dataLink = "..data"

// projectFiles writes files into dir as the kubelet writes ConfigMap,
// Secret and downward API volumes, so that a reader never sees half an
// update: the files go into a new timestamped directory, the ..data
// symlink is swapped to it with a rename, and each file name is a symlink
// through ..data. Calling it again on dir is the kubelet's update; the old
// directory and files no longer projected are removed.
func projectFiles(dir string, files map[string][]byte, now time.Time) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	stamp := ".." + now.UTC().Format("2006_01_02_15_04_05.000000000")
	if err := os.Mkdir(filepath.Join(dir, stamp), 0o755); err != nil {
		return err
	}
	for name, data := range files {
		if strings.ContainsRune(name, '/') || strings.HasPrefix(name, "..") {
			return fmt.Errorf("file name %q: the demo's kubelet projects plain file names only", name)
		}
		if err := os.WriteFile(filepath.Join(dir, stamp, name), data, 0o644); err != nil {
			return err
		}
	}
	old, _ := os.Readlink(filepath.Join(dir, dataLink))
	tmp := filepath.Join(dir, dataLink+"_tmp")
	_ = os.Remove(tmp)
	if err := os.Symlink(stamp, tmp); err != nil {
		return err
	}
	if err := os.Rename(tmp, filepath.Join(dir, dataLink)); err != nil {
		return err
	}
	var errs []error
	for name := range files {
		link := filepath.Join(dir, name)
		if _, err := os.Lstat(link); errors.Is(err, os.ErrNotExist) {
			errs = append(errs, os.Symlink(filepath.Join(dataLink, name), link))
		}
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return errors.Join(append(errs, err)...)
	}
	for _, e := range entries {
		name := e.Name()
		_, projected := files[name]
		switch {
		case name == old && old != stamp:
			errs = append(errs, os.RemoveAll(filepath.Join(dir, name)))
		case !strings.HasPrefix(name, "..") && !projected:
			errs = append(errs, os.Remove(filepath.Join(dir, name)))
		}
	}
	return errors.Join(errs...)
}

// hostArgs turns a container's "--flag=value" arguments into a command
// line for this machine: absolute paths move under root, and each flag of
// replace takes the given value (e.g. a free port instead of the pod's).
// A flag of replace that args do not hold is an error: the process would
// run with its default instead.
func hostArgs(args []string, root containerRoot, replace map[string]string) ([]string, error) {
	out := make([]string, 0, len(args))
	seen := map[string]bool{}
	for _, a := range args {
		flag, value, ok := strings.Cut(a, "=")
		switch {
		case !ok:
		case replace[flag] != "":
			a = flag + "=" + replace[flag]
			seen[flag] = true
		case strings.HasPrefix(value, "/"):
			a = flag + "=" + root.path(value)
		}
		out = append(out, a)
	}
	var missing []string
	for flag := range replace {
		if !seen[flag] {
			missing = append(missing, flag)
		}
	}
	if len(missing) > 0 {
		slices.Sort(missing)
		return nil, fmt.Errorf("the container's arguments %q have no %s to replace", args, strings.Join(missing, ", "))
	}
	return out, nil
}
