package chart

import (
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/yaml"
)

func TestHelmLint(t *testing.T) {
	for _, v := range variants {
		t.Run(v.name, func(t *testing.T) {
			args := append([]string{"lint", "--strict", chartRelPath, "--namespace", releaseNS}, valuesArgs(t, v.values)...)
			if out, err := runHelm(t, args...); err != nil {
				t.Fatalf("%v", err)
			} else if !strings.Contains(out, "0 chart(s) failed") {
				t.Fatalf("helm lint did not report success:\n%s", out)
			}
		})
	}
}

// kinds returns the sorted multiset of "Kind namespace/name" of objs.
func kindNames(objs []*unstructured.Unstructured) []string {
	var out []string
	for _, o := range objs {
		out = append(out, key(o))
	}
	slices.Sort(out)
	return out
}

func TestTemplateDefault(t *testing.T) {
	objs := render(t, "")
	want := []string{
		"ClusterRole /clr-operator-manager",
		"ClusterRoleBinding /clr-operator-manager",
		"CustomResourceDefinition /clrproviders.clr.learnerrecords.io",
		"CustomResourceDefinition /frameworks.clr.learnerrecords.io",
		"CustomResourceDefinition /issuers.clr.learnerrecords.io",
		"Deployment clr-system/clr-operator",
		"Role clr-system/clr-operator-leader-election",
		"RoleBinding clr-system/clr-operator-leader-election",
		"Service clr-system/clr-operator-metrics",
		"ServiceAccount clr-system/clr-operator",
	}
	if got := kindNames(objs); !reflect.DeepEqual(got, want) {
		t.Fatalf("default render:\n got %v\nwant %v", got, want)
	}
	for _, crd := range find(objs, "CustomResourceDefinition") {
		if crd.GetAnnotations()["helm.sh/resource-policy"] != "keep" {
			t.Errorf("CRD %s lacks helm.sh/resource-policy: keep (crds.keep defaults to true)", crd.GetName())
		}
	}

	dep := one(t, objs, "Deployment", "clr-operator")
	checkRestricted(t, dep)
	c := container(t, dep, "manager")
	args := stringSlice(c["args"])
	for _, want := range []string{
		"--leader-elect=true",
		"--metrics-bind-address=:8080",
		"--health-probe-bind-address=:8081",
		"--clr-server-image=ghcr.io/learnerrecords/clr-server:0.1.0",
		"--max-concurrent-reconciles=10",
	} {
		if !slices.Contains(args, want) {
			t.Errorf("manager args %v lack %s", args, want)
		}
	}
	for _, a := range args {
		if strings.HasPrefix(a, "--namespaces") {
			t.Errorf("cluster-wide default passes %s", a)
		}
	}
	if got := c["image"]; got != "ghcr.io/learnerrecords/clr-operator:0.1.0" {
		t.Errorf("image = %v", got)
	}
	for probe, path := range map[string]string{"livenessProbe": "/healthz", "readinessProbe": "/readyz"} {
		got, _, _ := unstructured.NestedString(c, probe, "httpGet", "path")
		port, _, _ := unstructured.NestedFieldNoCopy(c, probe, "httpGet", "port")
		if got != path || port != "health" {
			t.Errorf("%s = %s on port %v, want %s on the health port", probe, got, port, path)
		}
	}
	if _, ok, _ := unstructured.NestedMap(c, "resources", "requests"); !ok {
		t.Error("manager has no resource requests")
	}
	// The Go soft memory limit follows the container's memory limit.
	memoryLimitEnv := false
	env, _, _ := unstructured.NestedSlice(c, "env")
	for _, e := range env {
		m, _ := e.(map[string]any)
		res, _, _ := unstructured.NestedString(m, "valueFrom", "resourceFieldRef", "resource")
		if m["name"] == "CLR_MEMORY_LIMIT" && res == "limits.memory" {
			memoryLimitEnv = true
		}
	}
	if !memoryLimitEnv {
		t.Errorf("manager env %v lacks CLR_MEMORY_LIMIT from resources.limits.memory", env)
	}
}

// checkRestricted asserts the restricted Pod Security Standard's
// requirements on a Deployment's pod template.
func checkRestricted(t *testing.T, dep *unstructured.Unstructured) {
	t.Helper()
	pod, _, _ := unstructured.NestedMap(dep.Object, "spec", "template", "spec")
	if v, _, _ := unstructured.NestedBool(pod, "securityContext", "runAsNonRoot"); !v {
		t.Error("pod securityContext.runAsNonRoot is not true")
	}
	if v, _, _ := unstructured.NestedString(pod, "securityContext", "seccompProfile", "type"); v != "RuntimeDefault" {
		t.Errorf("pod seccompProfile = %q", v)
	}
	containers, _, _ := unstructured.NestedSlice(pod, "containers")
	for _, ci := range containers {
		c := ci.(map[string]any)
		if v, ok, _ := unstructured.NestedBool(c, "securityContext", "allowPrivilegeEscalation"); !ok || v {
			t.Errorf("container %v: allowPrivilegeEscalation must be false", c["name"])
		}
		if v, _, _ := unstructured.NestedBool(c, "securityContext", "readOnlyRootFilesystem"); !v {
			t.Errorf("container %v: readOnlyRootFilesystem must be true", c["name"])
		}
		if v, _, _ := unstructured.NestedStringSlice(c, "securityContext", "capabilities", "drop"); !slices.Equal(v, []string{"ALL"}) {
			t.Errorf("container %v: capabilities.drop = %v", c["name"], v)
		}
	}
}

func container(t *testing.T, dep *unstructured.Unstructured, name string) map[string]any {
	t.Helper()
	containers, _, _ := unstructured.NestedSlice(dep.Object, "spec", "template", "spec", "containers")
	for _, ci := range containers {
		if c := ci.(map[string]any); c["name"] == name {
			return c
		}
	}
	t.Fatalf("no container %q in %s", name, dep.GetName())
	return nil
}

func stringSlice(v any) []string {
	var out []string
	for _, x := range v.([]any) {
		out = append(out, x.(string))
	}
	return out
}

// roleFile is the controller-gen output the chart's rules come from.
func roleFile(t *testing.T) []any {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(repoRoot(t), "config", "rbac", "role.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var role map[string]any
	if err := yaml.Unmarshal(b, &role); err != nil {
		t.Fatal(err)
	}
	return role["rules"].([]any)
}

// permissions flattens rules into "group/resource verb" strings.
func permissions(rules []any) map[string]bool {
	out := map[string]bool{}
	for _, ri := range rules {
		r := ri.(map[string]any)
		for _, g := range r["apiGroups"].([]any) {
			for _, res := range r["resources"].([]any) {
				for _, v := range r["verbs"].([]any) {
					out[g.(string)+"/"+res.(string)+" "+v.(string)] = true
				}
			}
		}
	}
	return out
}

func TestTemplateRBACFromMarkers(t *testing.T) {
	want := permissions(roleFile(t))
	if len(want) == 0 {
		t.Fatal("config/rbac/role.yaml has no rules")
	}

	t.Run("cluster-wide", func(t *testing.T) {
		objs := render(t, "")
		cr := one(t, objs, "ClusterRole", "clr-operator-manager")
		rules, _, _ := unstructured.NestedSlice(cr.Object, "rules")
		if got := permissions(rules); !reflect.DeepEqual(got, want) {
			t.Fatalf("ClusterRole permissions differ from config/rbac/role.yaml:\n got %v\nwant %v", keys(got), keys(want))
		}
	})

	t.Run("namespaced", func(t *testing.T) {
		objs := render(t, "watchNamespaces: [tenant-a, tenant-b]\n")
		cr := one(t, objs, "ClusterRole", "clr-operator-manager-cluster")
		crRules, _, _ := unstructured.NestedSlice(cr.Object, "rules")
		clusterPerms := permissions(crRules)
		for _, p := range keys(clusterPerms) {
			if !strings.HasPrefix(p, "/namespaces ") && !strings.HasPrefix(p, "cert-manager.io/clusterissuers ") {
				t.Errorf("namespaced mode grants %s cluster-wide", p)
			}
		}
		roles := find(objs, "Role")
		var namespaces []string
		for _, r := range roles {
			if r.GetName() != "clr-operator-manager" {
				continue
			}
			namespaces = append(namespaces, r.GetNamespace())
			rules, _, _ := unstructured.NestedSlice(r.Object, "rules")
			union := permissions(rules)
			for p := range clusterPerms {
				union[p] = true
			}
			if !reflect.DeepEqual(union, want) {
				t.Errorf("Role in %s plus the ClusterRole differ from config/rbac/role.yaml:\n got %v\nwant %v", r.GetNamespace(), keys(union), keys(want))
			}
			one(t, objs, "RoleBinding", "clr-operator-manager")
		}
		slices.Sort(namespaces)
		if !slices.Equal(namespaces, []string{"tenant-a", "tenant-b"}) {
			t.Errorf("manager Roles in %v, want tenant-a and tenant-b", namespaces)
		}
		for _, o := range objs {
			if o.GetName() == "clr-operator-manager" && (o.GetKind() == "ClusterRole" || o.GetKind() == "ClusterRoleBinding") {
				t.Errorf("namespaced mode renders the cluster-wide %s", o.GetKind())
			}
		}
		dep := one(t, objs, "Deployment", "clr-operator")
		if args := stringSlice(container(t, dep, "manager")["args"]); !slices.Contains(args, "--namespaces=tenant-a,tenant-b") {
			t.Errorf("manager args %v lack --namespaces=tenant-a,tenant-b", args)
		}
	})

	t.Run("framework-namespaces", func(t *testing.T) {
		objs := render(t, "watchNamespaces: [tenant-a]\nframeworkNamespaces: [consortium, tenant-a]\n")
		dep := one(t, objs, "Deployment", "clr-operator")
		if args := stringSlice(container(t, dep, "manager")["args"]); !slices.Contains(args, "--framework-namespaces=consortium,tenant-a") {
			t.Errorf("manager args %v lack --framework-namespaces=consortium,tenant-a", args)
		}
		// Only the namespace that is not watched gets the Frameworks-only
		// Role (a watched one already has the full Role).
		var got []string
		for _, r := range find(objs, "Role") {
			if r.GetName() != "clr-operator-frameworks" {
				continue
			}
			got = append(got, r.GetNamespace())
			rules, _, _ := unstructured.NestedSlice(r.Object, "rules")
			perms := permissions(rules)
			for p := range perms {
				if !strings.HasPrefix(p, "clr.learnerrecords.io/frameworks") && !strings.HasPrefix(p, "/configmaps ") && !strings.HasPrefix(p, "events.k8s.io/events ") {
					t.Errorf("framework namespace Role grants %s", p)
				}
			}
			for _, p := range []string{"clr.learnerrecords.io/frameworks watch", "clr.learnerrecords.io/frameworks/status patch", "/configmaps create"} {
				if !perms[p] {
					t.Errorf("framework namespace Role lacks %s (has %v)", p, keys(perms))
				}
			}
		}
		if !slices.Equal(got, []string{"consortium"}) {
			t.Errorf("Frameworks-only Roles in %v, want [consortium]", got)
		}
		one(t, objs, "RoleBinding", "clr-operator-frameworks")
	})
}

func TestTemplateOptions(t *testing.T) {
	byName := map[string]variant{}
	for _, v := range variants {
		byName[v.name] = v
	}

	t.Run("crds-off", func(t *testing.T) {
		objs := render(t, byName["crds-off"].values)
		if crds := find(objs, "CustomResourceDefinition"); len(crds) != 0 {
			t.Fatalf("crds.enabled=false still renders %d CRDs", len(crds))
		}
		dep := one(t, objs, "Deployment", "clr-operator")
		c := container(t, dep, "manager")
		if got := c["image"]; got != "ghcr.io/learnerrecords/clr-operator@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef" {
			t.Errorf("image with digest = %v", got)
		}
		args := stringSlice(c["args"])
		for _, want := range []string{"--clr-server-image=registry.example.org/clr/clr-server:1.2.3", "--zap-log-level=debug"} {
			if !slices.Contains(args, want) {
				t.Errorf("args %v lack %s", args, want)
			}
		}
		if r, _, _ := unstructured.NestedFieldNoCopy(dep.Object, "spec", "replicas"); r != float64(2) {
			t.Errorf("replicas = %v", r)
		}
	})

	t.Run("crds-not-kept", func(t *testing.T) {
		objs := render(t, byName["crds-not-kept"].values)
		crds := find(objs, "CustomResourceDefinition")
		if len(crds) != 3 {
			t.Fatalf("%d CRDs rendered", len(crds))
		}
		for _, crd := range crds {
			if _, ok := crd.GetAnnotations()["helm.sh/resource-policy"]; ok {
				t.Errorf("crds.keep=false still annotates %s", crd.GetName())
			}
		}
	})

	t.Run("monitoring", func(t *testing.T) {
		objs := render(t, byName["monitoring"].values)
		sm := one(t, objs, "ServiceMonitor", "clr-operator")
		if sm.GetLabels()["release"] != "kube-prometheus-stack" {
			t.Errorf("ServiceMonitor labels %v lack serviceMonitor.labels", sm.GetLabels())
		}
		svc := one(t, objs, "Service", "clr-operator-metrics")
		sel, _, _ := unstructured.NestedStringMap(sm.Object, "spec", "selector", "matchLabels")
		for k, v := range sel {
			if svc.GetLabels()[k] != v {
				t.Errorf("ServiceMonitor selector %s=%s does not match the metrics Service's labels %v", k, v, svc.GetLabels())
			}
		}

		rule := one(t, objs, "PrometheusRule", "clr-operator")
		alerts := alertsOf(t, rule)
		for _, disabled := range []string{"ClrTenantHighLatency", "ClrStatusListStale"} {
			if _, ok := alerts[disabled]; ok {
				t.Errorf("disabled alert %s is rendered", disabled)
			}
		}
		if len(alerts) != len(allAlerts)-2 {
			t.Errorf("rendered alerts %v, want all but the 2 disabled of %v", keys(alerts), allAlerts)
		}
		for name, r := range alerts {
			ann, _ := r["annotations"].(map[string]any)
			if got, want := ann["runbook_url"], "https://runbooks.example.org/clr/"+name+".md"; got != want {
				t.Errorf("%s runbook_url = %v, want %s", name, got, want)
			}
			labels, _ := r["labels"].(map[string]any)
			if labels["team"] != "platform" || labels["severity"] == nil {
				t.Errorf("%s labels = %v, want severity kept and team added", name, labels)
			}
		}

		cm := one(t, objs, "ConfigMap", "clr-operator-dashboards")
		if cm.GetLabels()["grafana_dashboard"] != "1" {
			t.Errorf("dashboard ConfigMap labels %v lack grafana_dashboard: \"1\"", cm.GetLabels())
		}
		// metrics.secure is off: a plain HTTP scrape.
		checkPlainMetrics(t, objs)
		data, _, _ := unstructured.NestedStringMap(cm.Object, "data")
		if _, ok := data["clr-overview.json"]; !ok {
			t.Errorf("dashboard ConfigMap holds %v", keys(data))
		}
	})

	t.Run("networkpolicy", func(t *testing.T) {
		objs := render(t, byName["networkpolicy"].values)
		np := one(t, objs, "NetworkPolicy", "clr-operator")
		types, _, _ := unstructured.NestedStringSlice(np.Object, "spec", "policyTypes")
		if !slices.Equal(types, []string{"Ingress", "Egress"}) {
			t.Errorf("policyTypes = %v", types)
		}
		sel, _, _ := unstructured.NestedStringMap(np.Object, "spec", "podSelector", "matchLabels")
		dep := one(t, objs, "Deployment", "clr-operator")
		podLabels, _, _ := unstructured.NestedStringMap(dep.Object, "spec", "template", "metadata", "labels")
		for k, v := range sel {
			if podLabels[k] != v {
				t.Errorf("NetworkPolicy selects %s=%s, the operator's pods have %v", k, v, podLabels)
			}
		}
		egress, _, _ := unstructured.NestedSlice(np.Object, "spec", "egress")
		if len(egress) != 2 {
			t.Errorf("egress rules = %v, want DNS and the API server", egress)
		}
	})

	t.Run("off-by-default", func(t *testing.T) {
		objs := render(t, "")
		for _, kind := range []string{"ServiceMonitor", "PrometheusRule", "NetworkPolicy", "ConfigMap"} {
			if n := len(find(objs, kind)); n != 0 {
				t.Errorf("default values render %d %s", n, kind)
			}
		}
		checkPlainMetrics(t, objs)
	})

	t.Run("secure-metrics", func(t *testing.T) {
		objs := render(t, byName["secure-metrics"].values)
		dep := one(t, objs, "Deployment", "clr-operator")
		checkRestricted(t, dep)
		args := stringSlice(container(t, dep, "manager")["args"])
		for _, want := range []string{"--metrics-bind-address=:8080", "--metrics-secure", "--metrics-cert-dir=" + metricsCertDir} {
			if !slices.Contains(args, want) {
				t.Errorf("manager args %v lack %s", args, want)
			}
		}
		checkMetricsTLSVolume(t, dep, "clr-operator-metrics-tls")
		checkMetricsAuthRBAC(t, objs, "clr-operator", "clr-operator")
		crb := one(t, objs, "ClusterRoleBinding", "clr-operator-metrics-reader")
		checkRoleRef(t, crb, "clr-operator-metrics-reader")
		wantSubjects := []any{
			map[string]any{"kind": "ServiceAccount", "name": "prometheus-k8s", "namespace": "monitoring"},
			map[string]any{"kind": "Group", "name": "metrics-readers", "apiGroup": "rbac.authorization.k8s.io"},
		}
		if got, _, _ := unstructured.NestedSlice(crb.Object, "subjects"); !reflect.DeepEqual(normalize(got), normalize(wantSubjects)) {
			t.Errorf("metrics-reader ClusterRoleBinding subjects = %v, want %v", got, wantSubjects)
		}

		ep := serviceMonitorEndpoint(t, objs)
		svc := one(t, objs, "Service", "clr-operator-metrics")
		checkSecureEndpoint(t, ep)
		wantTLS := map[string]any{
			"ca":         map[string]any{"secret": map[string]any{"name": "clr-operator-metrics-tls", "key": "ca.crt"}},
			"serverName": svc.GetName() + "." + releaseNS + ".svc",
		}
		if got := ep["tlsConfig"]; !reflect.DeepEqual(normalize(got), normalize(wantTLS)) {
			t.Errorf("ServiceMonitor tlsConfig = %v, want %v", got, wantTLS)
		}
	})

	t.Run("secure-metrics-self-signed", func(t *testing.T) {
		// Namespaced mode, no certificate Secret, no readers.
		objs := render(t, byName["secure-metrics-self-signed"].values)
		dep := one(t, objs, "Deployment", "clr-operator")
		checkRestricted(t, dep)
		args := stringSlice(container(t, dep, "manager")["args"])
		if !slices.Contains(args, "--metrics-secure") {
			t.Errorf("manager args %v lack --metrics-secure", args)
		}
		for _, a := range args {
			if strings.HasPrefix(a, "--metrics-cert-dir") {
				t.Errorf("without metrics.tlsSecretName the manager gets %s", a)
			}
		}
		checkNoMetricsTLSVolume(t, dep)
		checkMetricsAuthRBAC(t, objs, "clr-operator", "clr-operator")
		for _, o := range find(objs, "ClusterRoleBinding") {
			if o.GetName() == "clr-operator-metrics-reader" {
				t.Error("empty metrics.readerSubjects renders a metrics-reader ClusterRoleBinding")
			}
		}
		ep := serviceMonitorEndpoint(t, objs)
		checkSecureEndpoint(t, ep)
		if got, want := ep["tlsConfig"], map[string]any{"insecureSkipVerify": true}; !reflect.DeepEqual(got, any(want)) {
			t.Errorf("ServiceMonitor tlsConfig with a self-signed certificate = %v, want %v", got, want)
		}
	})

	t.Run("secure-metrics-names", func(t *testing.T) {
		// The names follow fullnameOverride and serviceAccount.name.
		objs := render(t, "fullnameOverride: op\nserviceAccount: {name: op-sa}\nserviceMonitor: {enabled: true}\nmetrics: {secure: true, tlsSecretName: op-tls}\n")
		checkMetricsAuthRBAC(t, objs, "op", "op-sa")
		dep := one(t, objs, "Deployment", "op")
		checkMetricsTLSVolume(t, dep, "op-tls")
		svc := one(t, objs, "Service", "op-metrics")
		tls, _ := serviceMonitorEndpoint(t, objs)["tlsConfig"].(map[string]any)
		if got, want := tls["serverName"], svc.GetName()+"."+releaseNS+".svc"; got != want {
			t.Errorf("ServiceMonitor serverName = %v, want %s", got, want)
		}
	})

	t.Run("secure-metrics-without-rbac", func(t *testing.T) {
		objs := render(t, "rbac: {create: false}\nmetrics: {secure: true, readerSubjects: [{kind: User, name: alice}]}\n")
		if args := stringSlice(container(t, one(t, objs, "Deployment", "clr-operator"), "manager")["args"]); !slices.Contains(args, "--metrics-secure") {
			t.Errorf("manager args %v lack --metrics-secure", args)
		}
		for _, o := range objs {
			if strings.Contains(o.GetName(), "-metrics-") {
				t.Errorf("rbac.create=false renders %s", key(o))
			}
		}
	})
}

// metricsCertDir is where the chart mounts metrics.tlsSecretName.
const metricsCertDir = "/etc/clr-operator/metrics-tls"

// checkPlainMetrics asserts that nothing of metrics.secure is rendered.
func checkPlainMetrics(t *testing.T, objs []*unstructured.Unstructured) {
	t.Helper()
	dep := one(t, objs, "Deployment", "clr-operator")
	for _, a := range stringSlice(container(t, dep, "manager")["args"]) {
		if strings.HasPrefix(a, "--metrics-secure") || strings.HasPrefix(a, "--metrics-cert-dir") {
			t.Errorf("plain metrics pass %s", a)
		}
	}
	checkNoMetricsTLSVolume(t, dep)
	for _, o := range objs {
		if strings.Contains(o.GetName(), "-metrics-auth") || strings.Contains(o.GetName(), "-metrics-reader") {
			t.Errorf("plain metrics render %s", key(o))
		}
	}
	for _, sm := range find(objs, "ServiceMonitor") {
		ep := serviceMonitorEndpoint(t, []*unstructured.Unstructured{sm})
		for _, f := range []string{"scheme", "bearerTokenFile", "tlsConfig"} {
			if v, ok := ep[f]; ok {
				t.Errorf("ServiceMonitor of plain metrics sets %s: %v", f, v)
			}
		}
	}
}

// checkNoMetricsTLSVolume asserts the pod mounts no certificate.
func checkNoMetricsTLSVolume(t *testing.T, dep *unstructured.Unstructured) {
	t.Helper()
	if v, ok, _ := unstructured.NestedFieldNoCopy(dep.Object, "spec", "template", "spec", "volumes"); ok {
		t.Errorf("pod volumes = %v, want none", v)
	}
	if v, ok := container(t, dep, "manager")["volumeMounts"]; ok {
		t.Errorf("manager volumeMounts = %v, want none", v)
	}
	if v, ok, _ := unstructured.NestedFieldNoCopy(dep.Object, "spec", "template", "spec", "securityContext", "fsGroup"); ok {
		t.Errorf("pod fsGroup = %v without a mounted Secret", v)
	}
}

// checkMetricsTLSVolume asserts that the Secret is mounted read-only at
// metricsCertDir, readable by the operator's group only.
func checkMetricsTLSVolume(t *testing.T, dep *unstructured.Unstructured, secret string) {
	t.Helper()
	volumes, _, _ := unstructured.NestedSlice(dep.Object, "spec", "template", "spec", "volumes")
	if len(volumes) != 1 {
		t.Fatalf("pod volumes = %v, want the metrics certificate only", volumes)
	}
	vol := volumes[0].(map[string]any)
	wantVol := map[string]any{"name": "metrics-tls", "secret": map[string]any{
		"secretName":  secret,
		"defaultMode": 0o440,
		"items": []any{
			map[string]any{"key": "tls.crt", "path": "tls.crt"},
			map[string]any{"key": "tls.key", "path": "tls.key"},
		},
	}}
	if !reflect.DeepEqual(normalize(vol), normalize(wantVol)) {
		t.Errorf("metrics certificate volume = %v, want %v", vol, wantVol)
	}
	mounts, _ := container(t, dep, "manager")["volumeMounts"].([]any)
	wantMounts := []any{map[string]any{"name": "metrics-tls", "mountPath": metricsCertDir, "readOnly": true}}
	if !reflect.DeepEqual(normalize(mounts), normalize(wantMounts)) {
		t.Errorf("manager volumeMounts = %v, want %v", mounts, wantMounts)
	}
	// The files are root-owned with mode 0440: the operator (65532) reads
	// them through the pod's fsGroup.
	pod, _, _ := unstructured.NestedMap(dep.Object, "spec", "template", "spec")
	user, _, _ := unstructured.NestedFieldNoCopy(pod, "securityContext", "runAsUser")
	group, _, _ := unstructured.NestedFieldNoCopy(pod, "securityContext", "fsGroup")
	if normalize(group) != normalize(user) || group == nil {
		t.Errorf("pod fsGroup = %v, want the operator's user %v", group, user)
	}
}

// checkMetricsAuthRBAC asserts the ClusterRoles of metrics.secure, for a
// release of full name fullname with the operator's ServiceAccount sa.
func checkMetricsAuthRBAC(t *testing.T, objs []*unstructured.Unstructured, fullname, sa string) {
	t.Helper()
	auth := one(t, objs, "ClusterRole", fullname+"-metrics-auth")
	rules, _, _ := unstructured.NestedSlice(auth.Object, "rules")
	want := map[string]bool{
		"authentication.k8s.io/tokenreviews create":        true,
		"authorization.k8s.io/subjectaccessreviews create": true,
	}
	if got := permissions(rules); !reflect.DeepEqual(got, want) {
		t.Errorf("metrics-auth ClusterRole grants %v, want %v", keys(got), keys(want))
	}
	crb := one(t, objs, "ClusterRoleBinding", fullname+"-metrics-auth")
	checkRoleRef(t, crb, fullname+"-metrics-auth")
	wantSubjects := []any{map[string]any{"kind": "ServiceAccount", "name": sa, "namespace": releaseNS}}
	if got, _, _ := unstructured.NestedSlice(crb.Object, "subjects"); !reflect.DeepEqual(got, wantSubjects) {
		t.Errorf("metrics-auth ClusterRoleBinding subjects = %v, want %v", got, wantSubjects)
	}

	reader := one(t, objs, "ClusterRole", fullname+"-metrics-reader")
	wantRules := []any{map[string]any{"nonResourceURLs": []any{"/metrics"}, "verbs": []any{"get"}}}
	if got, _, _ := unstructured.NestedSlice(reader.Object, "rules"); !reflect.DeepEqual(got, wantRules) {
		t.Errorf("metrics-reader ClusterRole rules = %v, want %v", got, wantRules)
	}
}

func checkRoleRef(t *testing.T, binding *unstructured.Unstructured, clusterRole string) {
	t.Helper()
	ref, _, _ := unstructured.NestedStringMap(binding.Object, "roleRef")
	want := map[string]string{"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": clusterRole}
	if !reflect.DeepEqual(ref, want) {
		t.Errorf("%s roleRef = %v, want %v", key(binding), ref, want)
	}
}

// serviceMonitorEndpoint returns the single endpoint of the single
// ServiceMonitor among objs.
func serviceMonitorEndpoint(t *testing.T, objs []*unstructured.Unstructured) map[string]any {
	t.Helper()
	sms := find(objs, "ServiceMonitor")
	if len(sms) != 1 {
		t.Fatalf("%d ServiceMonitors rendered, want 1", len(sms))
	}
	eps, _, _ := unstructured.NestedSlice(sms[0].Object, "spec", "endpoints")
	if len(eps) != 1 {
		t.Fatalf("ServiceMonitor endpoints = %v, want 1", eps)
	}
	return eps[0].(map[string]any)
}

// checkSecureEndpoint asserts that Prometheus scrapes over HTTPS with its
// ServiceAccount token.
func checkSecureEndpoint(t *testing.T, ep map[string]any) {
	t.Helper()
	if ep["port"] != "metrics" || ep["path"] != "/metrics" {
		t.Errorf("ServiceMonitor endpoint scrapes port %v path %v", ep["port"], ep["path"])
	}
	if ep["scheme"] != "https" {
		t.Errorf("ServiceMonitor scheme = %v, want https", ep["scheme"])
	}
	if got := ep["bearerTokenFile"]; got != "/var/run/secrets/kubernetes.io/serviceaccount/token" {
		t.Errorf("ServiceMonitor bearerTokenFile = %v", got)
	}
}

// alertsOf returns a PrometheusRule's alerting rules by name.
func alertsOf(t testing.TB, rule *unstructured.Unstructured) map[string]map[string]any {
	t.Helper()
	groups, _, _ := unstructured.NestedSlice(rule.Object, "spec", "groups")
	out := map[string]map[string]any{}
	for _, gi := range groups {
		rules, _ := gi.(map[string]any)["rules"].([]any)
		for _, ri := range rules {
			r := ri.(map[string]any)
			name, _ := r["alert"].(string)
			if name == "" {
				t.Fatalf("rule without an alert name: %v", r)
			}
			if _, dup := out[name]; dup {
				t.Fatalf("alert %s defined twice", name)
			}
			out[name] = r
		}
	}
	return out
}
