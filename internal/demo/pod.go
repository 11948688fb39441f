package demo

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	"tollgate.dev/tollgate/internal/operator/inject"
	"tollgate.dev/tollgate/pkg/proxyconfig"
)

// reloadInterval is the sidecar's --reload-interval in the demo: short, so
// a missed file event costs little time.
const reloadInterval = "200ms"

// podView is what the demo reads from the injected pod.
type podView struct {
	pod     *corev1.Pod
	sidecar corev1.Container
	// baseURL is the app container's OPENAI_BASE_URL.
	baseURL string
}

// readInjected checks that pod was injected as a native sidecar with the
// app pointed at it, and returns what the demo needs from it.
func readInjected(pod *corev1.Pod) (podView, error) {
	v := podView{pod: pod}
	if pod.Annotations[inject.InjectedAnnotation] != "true" {
		return v, fmt.Errorf("pod %s has no %s: \"true\" annotation: the webhook did not inject it", pod.Name, inject.InjectedAnnotation)
	}
	found := false
	for _, c := range pod.Spec.InitContainers {
		if c.Name == inject.ContainerName {
			v.sidecar, found = c, true
		}
	}
	switch {
	case !found:
		return v, fmt.Errorf("pod %s has no init container %s", pod.Name, inject.ContainerName)
	case v.sidecar.RestartPolicy == nil || *v.sidecar.RestartPolicy != corev1.ContainerRestartPolicyAlways:
		return v, fmt.Errorf("init container %s is not a native sidecar: restartPolicy is %v, want Always", inject.ContainerName, v.sidecar.RestartPolicy)
	}
	for _, c := range pod.Spec.Containers {
		if c.Name != appContainer {
			continue
		}
		for _, e := range c.Env {
			if e.Name == "OPENAI_BASE_URL" {
				v.baseURL = e.Value
			}
		}
	}
	if v.baseURL == "" {
		return v, fmt.Errorf("container %s of pod %s has no OPENAI_BASE_URL", appContainer, pod.Name)
	}
	return v, nil
}

// excerpt is the part of the injected pod the demo shows, as YAML.
func (v podView) excerpt() (string, error) {
	type container struct {
		Name          string                         `json:"name"`
		Image         string                         `json:"image,omitempty"`
		RestartPolicy *corev1.ContainerRestartPolicy `json:"restartPolicy,omitempty"`
		Args          []string                       `json:"args,omitempty"`
		VolumeMounts  []corev1.VolumeMount           `json:"volumeMounts,omitempty"`
		Env           []corev1.EnvVar                `json:"env,omitempty"`
	}
	view := map[string]any{
		"metadata": map[string]any{"annotations": map[string]string{inject.InjectedAnnotation: v.pod.Annotations[inject.InjectedAnnotation]}},
		"spec": map[string]any{
			"initContainers": []container{{Name: v.sidecar.Name, Image: v.sidecar.Image, RestartPolicy: v.sidecar.RestartPolicy, Args: v.sidecar.Args, VolumeMounts: v.sidecar.VolumeMounts}},
		},
	}
	var apps []container
	for _, c := range v.pod.Spec.Containers {
		apps = append(apps, container{Name: c.Name, Env: c.Env})
	}
	view["spec"].(map[string]any)["containers"] = apps
	b, err := yaml.Marshal(view)
	return string(b), err
}

// createPod applies the demo's pod and shows what the webhook injected.
func (d *demo) createPod(ctx context.Context) (string, error) {
	d.say.command("kubectl apply -f %s/pod.yaml", samplesDir)
	out, err := d.kubectl(ctx, d.manifests.pod, "apply", "-f", "-")
	if err != nil {
		return "", err
	}
	d.say.block(out)
	var pod corev1.Pod
	if err := d.env.Client.Get(ctx, client.ObjectKey{Namespace: demoNamespace, Name: podName}, &pod); err != nil {
		return "", err
	}
	if d.pod, err = readInjected(&pod); err != nil {
		return "", err
	}
	d.say.command("kubectl -n %s get pod %s -o yaml   # an excerpt:", demoNamespace, podName)
	excerpt, err := d.pod.excerpt()
	if err != nil {
		return "", err
	}
	d.say.block(excerpt)
	return fmt.Sprintf("restartPolicy: Always; OPENAI_BASE_URL=%s", d.pod.baseURL), nil
}

// startSidecar does what the kubelet would do for the sidecar container:
// it writes the pod's volumes (the rendered ConfigMap, the labels file)
// under a directory standing for the container's file system, and runs the
// sidecar binary with the injected arguments, their paths moved there and
// its ports moved to free ones.
func (d *demo) startSidecar(ctx context.Context) (string, error) {
	d.container = containerRoot{dir: filepath.Join(d.work, "pods", podName, inject.ContainerName)}
	configMap := func(name string) (*corev1.ConfigMap, error) { return d.configMap(ctx, name) }
	if err := d.container.mountVolumes(d.pod.pod, d.pod.sidecar, volumeSources{configMap: configMap}); err != nil {
		return "", err
	}
	d.say.say("the kubelet's part: the sidecar's volumes, under %s", d.container.dir)
	for _, m := range d.pod.sidecar.VolumeMounts {
		entries, _ := os.ReadDir(d.container.path(m.MountPath))
		var names []string
		for _, e := range entries {
			if !strings.HasPrefix(e.Name(), "..") {
				names = append(names, e.Name())
			}
		}
		d.say.block(fmt.Sprintf("%s (volume %s): %s", m.MountPath, m.Name, strings.Join(names, ", ")))
	}
	labels, err := os.ReadFile(d.container.path(inject.PodInfoDir + "/" + inject.PodLabelsFile))
	if err != nil {
		return "", fmt.Errorf("the labels file was not written: %w", err)
	}
	d.say.block(fmt.Sprintf("%s/%s: %s", inject.PodInfoDir, inject.PodLabelsFile, labels))

	// Port 0: the kernel picks free ports, and the sidecar logs them.
	args, err := hostArgs(d.pod.sidecar.Args, d.container, map[string]string{"--listen": "127.0.0.1:0", "--admin": "127.0.0.1:0"})
	if err != nil {
		return "", err
	}
	args = append(args, "--reload-interval="+reloadInterval)
	d.say.command("go run ./cmd/sidecar %s", strings.Join(args, " "))
	if d.sidecar, err = d.startProcess("sidecar", d.bins.sidecar, args, nil); err != nil {
		return "", err
	}
	if err := waitFor(ctx, "the sidecar to start", d.sidecarStarted); err != nil {
		return "", err
	}
	if err := waitFor(ctx, "the sidecar's /readyz", func(ctx context.Context) error {
		if err := d.sidecar.Err(); err != nil {
			return permanent(err)
		}
		return httpOK(ctx, "http://"+d.adminAddr+"/readyz")
	}); err != nil {
		return "", err
	}
	loaded, err := d.sidecarConfig(ctx)
	if err != nil {
		return "", err
	}
	if loaded.Policy == nil || loaded.Policy.Ref() != demoNamespace+"/"+policyName {
		return "", fmt.Errorf("the sidecar is ready but does not enforce %s/%s: %s", demoNamespace, policyName, loaded.Source)
	}
	if d.app, err = d.newApp(); err != nil {
		return "", err
	}
	d.say.command("curl http://%s/config", d.adminAddr)
	d.say.block(fmt.Sprintf("source: %s", loaded.Source))
	d.say.say("the app's OPENAI_BASE_URL, with the port the sidecar listens on here: %s", d.app.baseURL)
	return fmt.Sprintf("ready on %s, enforcing %s gen. %d", d.proxyAddr, loaded.Policy.Ref(), loaded.Policy.Generation), nil
}

// sidecarStarted reads the proxy and admin addresses from the sidecar's
// start log line.
func (d *demo) sidecarStarted(context.Context) error {
	for _, line := range strings.Split(d.sidecar.Log().String(), "\n") {
		var l struct {
			Msg    string `json:"msg"`
			Listen string `json:"listen"`
			Admin  string `json:"admin"`
		}
		if json.Unmarshal([]byte(line), &l) == nil && l.Msg == "tollgate-sidecar started" {
			d.proxyAddr, d.adminAddr = l.Listen, l.Admin
			return nil
		}
	}
	if err := d.sidecar.Err(); err != nil {
		return permanent(err)
	}
	return errors.New("no start line in its log yet")
}

// loadedConfig is the sidecar's /config answer.
type loadedConfig struct {
	Source string              `json:"source"`
	Policy *proxyconfig.Policy `json:"policy"`
}

func (d *demo) sidecarConfig(ctx context.Context) (loadedConfig, error) {
	var c loadedConfig
	err := getJSON(ctx, "http://"+d.adminAddr+"/config", &c)
	return c, err
}

// appBaseURL is the injected base URL with the host and port the sidecar
// listens on in the demo instead of the pod's 127.0.0.1:15000.
func appBaseURL(injected, proxyAddr string) (string, error) {
	u, err := url.Parse(injected)
	if err != nil || u.Host == "" {
		return "", fmt.Errorf("OPENAI_BASE_URL %q is not a URL", injected)
	}
	u.Host = proxyAddr
	return u.String(), nil
}
