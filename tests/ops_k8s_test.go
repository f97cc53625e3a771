package tests

import (
	"bytes"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	kjson "sigs.k8s.io/json"
	"sigs.k8s.io/yaml"

	"github.com/heraldproj/herald/tests/harness"
)

// TestKubernetesManifests decodes configs/k8s with Kubernetes' own API
// types, strictly (a misspelt or misplaced field fails), and checks what
// the API server would refuse or what would leave the fleet broken: names,
// images, the DaemonSet's selector against its pods' labels, the Service's
// selector, probes and volume mounts that name what the pod declares, and
// the gossip ports the Service publishes.
func TestKubernetesManifests(t *testing.T) {
	path := filepath.Join(harness.RepoRoot(t), "configs", "k8s", "herald.yaml")
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var (
		services []corev1.Service
		sets     []appsv1.DaemonSet
	)
	for i, doc := range regexp.MustCompile(`(?m)^---\s*$`).Split(string(b), -1) {
		if len(bytes.TrimSpace([]byte(doc))) == 0 {
			continue
		}
		var head struct{ APIVersion, Kind string }
		if err := yaml.Unmarshal([]byte(doc), &head); err != nil {
			t.Fatalf("document %d: %v", i, err)
		}
		switch head.APIVersion + " " + head.Kind {
		case "v1 Service":
			var s corev1.Service
			decodeStrict(t, i, doc, &s)
			services = append(services, s)
		case "apps/v1 DaemonSet":
			var d appsv1.DaemonSet
			decodeStrict(t, i, doc, &d)
			sets = append(sets, d)
		default:
			t.Fatalf("document %d: unexpected %s %s", i, head.APIVersion, head.Kind)
		}
	}
	if len(services) != 1 || len(sets) != 1 {
		t.Fatalf("%d Services and %d DaemonSets, want one of each", len(services), len(sets))
	}
	svc, ds := services[0], sets[0]
	pod := ds.Spec.Template

	if svc.Name == "" || ds.Name == "" {
		t.Error("a manifest without metadata.name")
	}
	if ds.Spec.Selector == nil || !matches(ds.Spec.Selector.MatchLabels, pod.Labels) || len(ds.Spec.Selector.MatchLabels) == 0 {
		t.Errorf("DaemonSet selector %v does not select its pods' labels %v", ds.Spec.Selector, pod.Labels)
	}
	if !matches(svc.Spec.Selector, pod.Labels) || len(svc.Spec.Selector) == 0 {
		t.Errorf("Service selector %v does not select the herald pods %v", svc.Spec.Selector, pod.Labels)
	}
	if svc.Spec.ClusterIP != corev1.ClusterIPNone || !svc.Spec.PublishNotReadyAddresses {
		t.Error("the fleet Service must be headless and publish pods that are not ready (a herald joins before it is ready)")
	}
	if len(pod.Spec.Containers) != 1 {
		t.Fatalf("%d containers, want herald's alone", len(pod.Spec.Containers))
	}
	c := pod.Spec.Containers[0]
	if c.Name == "" || c.Image == "" {
		t.Errorf("container name %q image %q", c.Name, c.Image)
	}
	ports := map[string]corev1.ContainerPort{}
	for _, p := range c.Ports {
		ports[p.Name] = p
	}
	for name, probe := range map[string]*corev1.Probe{"liveness": c.LivenessProbe, "readiness": c.ReadinessProbe} {
		if probe == nil || probe.HTTPGet == nil {
			t.Errorf("no HTTP %s probe", name)
			continue
		}
		if _, ok := ports[probe.HTTPGet.Port.StrVal]; !ok {
			t.Errorf("%s probe uses port %q, which the container does not declare", name, probe.HTTPGet.Port.String())
		}
	}
	if c.LivenessProbe != nil && c.LivenessProbe.HTTPGet != nil && c.LivenessProbe.HTTPGet.Path != "/livez" {
		t.Errorf("liveness probe on %s: it must be /livez, which does not fail while etcd is down", c.LivenessProbe.HTTPGet.Path)
	}
	var volumes []string
	for _, v := range pod.Spec.Volumes {
		volumes = append(volumes, v.Name)
	}
	for _, m := range c.VolumeMounts {
		if !slices.Contains(volumes, m.Name) {
			t.Errorf("volume mount %q names no volume of the pod", m.Name)
		}
	}
	for _, sp := range svc.Spec.Ports {
		p, ok := ports[sp.Name]
		if !ok || p.ContainerPort != sp.Port || protocol(p.Protocol) != protocol(sp.Protocol) {
			t.Errorf("Service port %s %d/%s has no matching container port", sp.Name, sp.Port, protocol(sp.Protocol))
		}
	}
	for _, env := range c.Env {
		if env.ValueFrom == nil || env.ValueFrom.FieldRef == nil {
			continue
		}
		if !slices.Contains([]string{"spec.nodeName", "status.hostIP", "status.podIP", "metadata.name", "metadata.namespace"}, env.ValueFrom.FieldRef.FieldPath) {
			t.Errorf("env %s reads field %s, which the downward API does not offer", env.Name, env.ValueFrom.FieldRef.FieldPath)
		}
	}
}

// decodeStrict decodes one YAML document as the API server reads JSON:
// field names case-sensitive, no unknown or duplicate field.
func decodeStrict(t *testing.T, i int, doc string, into any) {
	t.Helper()
	j, err := yaml.YAMLToJSON([]byte(doc))
	if err != nil {
		t.Fatalf("document %d: %v", i, err)
	}
	strict, err := kjson.UnmarshalStrict(j, into, kjson.DisallowDuplicateFields, kjson.DisallowUnknownFields)
	if err != nil || len(strict) > 0 {
		t.Fatalf("document %d (%T): %v %v", i, into, err, strict)
	}
}

// matches reports whether every selector label is set on labels.
func matches(selector, labels map[string]string) bool {
	for k, v := range selector {
		if labels[k] != v {
			return false
		}
	}
	return true
}

// protocol is p, with the API's default (TCP) when it is empty.
func protocol(p corev1.Protocol) corev1.Protocol {
	if p == "" {
		return corev1.ProtocolTCP
	}
	return p
}
