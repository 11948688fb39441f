package demo

import (
	"context"
	"fmt"
	"net/url"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	"tollgate.dev/tollgate/internal/operator/inject"
)

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

// arg is the value of the sidecar's "--flag=value" argument flag, or "".
func (v podView) arg(flag string) string {
	for _, a := range v.sidecar.Args {
		if f, value, ok := strings.Cut(a, "="); ok && f == flag {
			return value
		}
	}
	return ""
}

// excerpt is the part of the injected pod the demo shows, as YAML.
func (v podView) excerpt() (string, error) {
	type container struct {
		Name          string                         `json:"name"`
		Image         string                         `json:"image,omitempty"`
		RestartPolicy *corev1.ContainerRestartPolicy `json:"restartPolicy,omitempty"`
		Args          []string                       `json:"args,omitempty"`
		Env           []corev1.EnvVar                `json:"env,omitempty"`
		VolumeMounts  []corev1.VolumeMount           `json:"volumeMounts,omitempty"`
	}
	var apps []container
	for _, c := range v.pod.Spec.Containers {
		apps = append(apps, container{Name: c.Name, Env: c.Env})
	}
	view := map[string]any{
		"metadata": map[string]any{"annotations": map[string]string{inject.InjectedAnnotation: v.pod.Annotations[inject.InjectedAnnotation]}},
		"spec": map[string]any{
			"initContainers": []container{{Name: v.sidecar.Name, Image: v.sidecar.Image, RestartPolicy: v.sidecar.RestartPolicy,
				Args: v.sidecar.Args, Env: v.sidecar.Env, VolumeMounts: v.sidecar.VolumeMounts}},
			"containers": apps,
			"volumes":    v.pod.Spec.Volumes,
		},
	}
	b, err := yaml.Marshal(view)
	return string(b), err
}

// createPods applies the ServiceAccount and the demo's pods, shows what the
// webhook injected into the first, and checks that it injected the same
// sidecar into the others.
func (d *demo) createPods(ctx context.Context) (string, error) {
	d.say.command("kubectl apply -f %s/serviceaccount.yaml", samplesDir)
	out, err := d.kubectl(ctx, d.manifests.serviceAccount, "apply", "-f", "-")
	if err != nil {
		return "", err
	}
	d.say.block(out)
	for i, p := range demoPods {
		d.say.command("kubectl apply -f %s/%s", samplesDir, p.file)
		out, err := d.kubectl(ctx, d.manifests.pods[i], "apply", "-f", "-")
		if err != nil {
			return "", err
		}
		d.say.block(out)
		var pod corev1.Pod
		if err := d.env.Client.Get(ctx, client.ObjectKey{Namespace: demoNamespace, Name: p.name}, &pod); err != nil {
			return "", err
		}
		v, err := readInjected(&pod)
		if err != nil {
			return "", err
		}
		if v.arg("--ledger-url") == "" {
			return "", fmt.Errorf("the sidecar of pod %s has no --ledger-url: the operator injected it without the budget ledger", p.name)
		}
		d.pods = append(d.pods, &runningPod{name: p.name, view: v})
	}
	first := d.pods[0]
	d.say.command("kubectl -n %s get pod %s -o yaml   # an excerpt:", demoNamespace, first.name)
	excerpt, err := first.view.excerpt()
	if err != nil {
		return "", err
	}
	d.say.block(excerpt)
	d.say.say("with the ledger on, the sidecar gets --ledger-* arguments, POD_UID, a token of the pod's ServiceAccount for audience %s, and a state directory", inject.TokenAudience)
	for _, p := range d.pods[1:] {
		if !equality.Semantic.DeepEqual(p.view.sidecar, first.view.sidecar) || !equality.Semantic.DeepEqual(p.view.pod.Spec.Volumes, first.view.pod.Spec.Volumes) {
			return "", fmt.Errorf("pod %s's sidecar or volumes differ from %s's: the webhook injected them differently", p.name, first.name)
		}
		d.say.say("%s: the same sidecar, arguments and volumes; OPENAI_BASE_URL=%s", p.name, p.view.baseURL)
	}
	return fmt.Sprintf("%d pods: native sidecar, OPENAI_BASE_URL, ledger token + state", len(d.pods)), nil
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
