package controllers

import (
	"encoding/json"
	"fmt"
	"maps"

	cmapi "github.com/cert-manager/cert-manager/pkg/apis/certmanager/v1"
	cmmeta "github.com/cert-manager/cert-manager/pkg/apis/meta/v1"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/util/intstr"

	clrv1 "github.com/learnerrecords/clr-operator/api/v1alpha1"
	"github.com/learnerrecords/clr-operator/internal/memlimit"
	"github.com/learnerrecords/clr-operator/internal/serverconfig"
)

// BuildOptions are the operator-wide settings the builders need.
type BuildOptions struct {
	// DefaultImage is the clr-server image when spec.image is empty.
	DefaultImage string
	// IngressNamespaces and MonitoringNamespaces are the namespaces (by
	// name) the NetworkPolicy lets in: the ingress controller's to the API
	// port, the monitoring stack's to the metrics port.
	IngressNamespaces    []string
	MonitoringNamespaces []string
}

// serverUID is the non-root user and group clr-server runs as (the
// images' "nonroot" user, 65532).
const serverUID = 65532

func providerLabels(p *clrv1.CLRProvider, component string) map[string]string {
	return map[string]string{
		LabelManagedBy: ManagedByValue,
		LabelName:      "clr-server",
		LabelInstance:  p.Name,
		LabelComponent: component,
		LabelProvider:  p.Name,
	}
}

// selectorLabels select the clr-server pods of a provider; immutable in a
// Deployment, so they never change.
func selectorLabels(p *clrv1.CLRProvider) map[string]string {
	return map[string]string{LabelName: "clr-server", LabelInstance: p.Name}
}

func objectMeta(p *clrv1.CLRProvider, name, component string) metav1.ObjectMeta {
	return metav1.ObjectMeta{Name: name, Namespace: p.Namespace, Labels: providerLabels(p, component)}
}

func replicasOf(p *clrv1.CLRProvider) int32 {
	if p.Spec.Replicas == nil {
		return 1
	}
	return *p.Spec.Replicas
}

func buildConfigMap(p *clrv1.CLRProvider, data map[string]string) *corev1.ConfigMap {
	return &corev1.ConfigMap{
		TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "ConfigMap"},
		ObjectMeta: objectMeta(p, providerConfigMapName(p.Name), ComponentConfig),
		Data:       data,
	}
}

// buildSecretsSecret holds the internal secrets as clr-server reads them
// (secrets.json) and, for the institution's administrators, each issuing
// client's secret under "client-<id>".
func buildSecretsSecret(p *clrv1.CLRProvider, s serverconfig.InternalSecrets) (*corev1.Secret, error) {
	raw, err := json.Marshal(s)
	if err != nil {
		return nil, fmt.Errorf("encoding internal secrets: %w", err)
	}
	data := map[string][]byte{secretsFileKey: raw}
	for id, v := range s.ClientSecrets {
		data["client-"+id] = []byte(v)
	}
	return &corev1.Secret{
		TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "Secret"},
		ObjectMeta: objectMeta(p, providerSecretsName(p.Name), ComponentSecrets),
		Type:       corev1.SecretTypeOpaque,
		Data:       data,
	}, nil
}

func buildDataPVC(p *clrv1.CLRProvider) *corev1.PersistentVolumeClaim {
	s := p.Spec.Storage.SQLite
	size := resource.MustParse("1Gi")
	if s.Size != nil && !s.Size.IsZero() {
		size = *s.Size
	}
	return &corev1.PersistentVolumeClaim{
		TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "PersistentVolumeClaim"},
		ObjectMeta: objectMeta(p, providerDataPVCName(p.Name), "data"),
		Spec: corev1.PersistentVolumeClaimSpec{
			AccessModes:      []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
			StorageClassName: s.StorageClassName,
			Resources:        corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceStorage: size}},
		},
	}
}

func buildServiceAccount(p *clrv1.CLRProvider) *corev1.ServiceAccount {
	return &corev1.ServiceAccount{
		TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "ServiceAccount"},
		ObjectMeta: objectMeta(p, p.Name, ComponentServer),
		// clr-server never talks to the Kubernetes API: no token at all.
		AutomountServiceAccountToken: ptrTo(false),
	}
}

// buildDeployment is the clr-server Deployment, under the restricted Pod
// Security Standard. inputsHash goes into the pod template, so a change of
// the inputs clr-server reads at start rolls the pods.
func buildDeployment(p *clrv1.CLRProvider, issuers []resolvedIssuer, inputsHash string, opts BuildOptions) *appsv1.Deployment {
	image := p.Spec.Image
	if image == "" {
		image = opts.DefaultImage
	}
	readOnly := int32(0o440)
	volumes := []corev1.Volume{
		{Name: "config", VolumeSource: corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{
			LocalObjectReference: corev1.LocalObjectReference{Name: providerConfigMapName(p.Name)}, DefaultMode: &readOnly}}},
		{Name: "secrets", VolumeSource: corev1.VolumeSource{Secret: &corev1.SecretVolumeSource{
			SecretName: providerSecretsName(p.Name), DefaultMode: &readOnly,
			Items: []corev1.KeyToPath{{Key: secretsFileKey, Path: secretsFileKey}}}}},
		{Name: "tmp", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}},
	}
	mounts := []corev1.VolumeMount{
		{Name: "config", MountPath: configDir, ReadOnly: true},
		{Name: "secrets", MountPath: secretsDir, ReadOnly: true},
		{Name: "tmp", MountPath: "/tmp"},
		{Name: "data", MountPath: dataDir},
	}
	if p.Spec.Storage.SQLite != nil {
		volumes = append(volumes, corev1.Volume{Name: "data", VolumeSource: corev1.VolumeSource{
			PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: providerDataPVCName(p.Name)}}})
	} else {
		volumes = append(volumes, corev1.Volume{Name: "data", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}})
		pg := p.Spec.Storage.Postgres.SecretRef
		key := pg.Key
		if key == "" {
			key = "dsn"
		}
		volumes = append(volumes, corev1.Volume{Name: "postgres", VolumeSource: corev1.VolumeSource{Secret: &corev1.SecretVolumeSource{
			SecretName: pg.Name, DefaultMode: &readOnly, Items: []corev1.KeyToPath{{Key: key, Path: postgresDSNKey}}}}})
		mounts = append(mounts, corev1.VolumeMount{Name: "postgres", MountPath: postgresDir, ReadOnly: true})
	}
	if oidc := p.Spec.OAuth.OIDC; oidc != nil {
		key := oidc.ClientSecretRef.Key
		if key == "" {
			key = "client-secret"
		}
		volumes = append(volumes, corev1.Volume{Name: "oidc", VolumeSource: corev1.VolumeSource{Secret: &corev1.SecretVolumeSource{
			SecretName: oidc.ClientSecretRef.Name, DefaultMode: &readOnly, Items: []corev1.KeyToPath{{Key: key, Path: oidcSecretKey}}}}})
		mounts = append(mounts, corev1.VolumeMount{Name: "oidc", MountPath: oidcDir, ReadOnly: true})
	}
	for _, is := range issuers {
		name := is.object.Name
		volumes = append(volumes, corev1.Volume{Name: "key-" + name, VolumeSource: corev1.VolumeSource{Secret: &corev1.SecretVolumeSource{
			SecretName: signingKeySecretName(name), DefaultMode: &readOnly,
			Items: []corev1.KeyToPath{{Key: corev1.TLSPrivateKeyKey, Path: corev1.TLSPrivateKeyKey}, {Key: corev1.TLSCertKey, Path: corev1.TLSCertKey}}}}})
		mounts = append(mounts, corev1.VolumeMount{Name: "key-" + name, MountPath: keysDir + "/" + name, ReadOnly: true})
	}

	probe := func(path string, period int32) *corev1.Probe {
		return &corev1.Probe{
			ProbeHandler:  corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Path: path, Port: intstr.FromString("http")}},
			PeriodSeconds: period, TimeoutSeconds: 2, FailureThreshold: 3,
		}
	}
	const containerName = "clr-server"
	container := corev1.Container{
		Name:  containerName,
		Image: image,
		Args:  []string{"serve", "--config=" + configDir + "/" + configFileKey},
		// clr-server fits its Go soft memory limit and its page cache to
		// the container's memory limit, whatever spec.resources says.
		Env: []corev1.EnvVar{{Name: memlimit.EnvContainerLimit, ValueFrom: &corev1.EnvVarSource{
			ResourceFieldRef: &corev1.ResourceFieldSelector{ContainerName: containerName, Resource: "limits.memory"}}}},
		Ports: []corev1.ContainerPort{
			{Name: "http", ContainerPort: httpPort, Protocol: corev1.ProtocolTCP},
			{Name: "metrics", ContainerPort: metricsPort, Protocol: corev1.ProtocolTCP},
		},
		StartupProbe:   &corev1.Probe{ProbeHandler: corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Path: "/healthz", Port: intstr.FromString("http")}}, PeriodSeconds: 2, FailureThreshold: 30},
		LivenessProbe:  probe("/healthz", 10),
		ReadinessProbe: probe("/readyz", 5),
		VolumeMounts:   mounts,
		SecurityContext: &corev1.SecurityContext{
			AllowPrivilegeEscalation: ptrTo(false),
			ReadOnlyRootFilesystem:   ptrTo(true),
			RunAsNonRoot:             ptrTo(true),
			Capabilities:             &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}},
			SeccompProfile:           &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault},
		},
	}
	if p.Spec.Resources != nil {
		container.Resources = *p.Spec.Resources
	} else {
		container.Resources = corev1.ResourceRequirements{
			Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("50m"), corev1.ResourceMemory: resource.MustParse("64Mi")},
			Limits:   corev1.ResourceList{corev1.ResourceMemory: resource.MustParse("256Mi")},
		}
	}
	strategy := appsv1.DeploymentStrategy{Type: appsv1.RollingUpdateDeploymentStrategyType,
		RollingUpdate: &appsv1.RollingUpdateDeployment{MaxUnavailable: ptrTo(intstr.FromInt32(0)), MaxSurge: ptrTo(intstr.FromInt32(1))}}
	if p.Spec.Storage.SQLite != nil {
		// One writer on a ReadWriteOnce volume: the old pod must stop
		// before the new one opens the database.
		strategy = appsv1.DeploymentStrategy{Type: appsv1.RecreateDeploymentStrategyType}
	}
	podLabels := providerLabels(p, ComponentServer)
	return &appsv1.Deployment{
		TypeMeta:   metav1.TypeMeta{APIVersion: "apps/v1", Kind: "Deployment"},
		ObjectMeta: objectMeta(p, p.Name, ComponentServer),
		Spec: appsv1.DeploymentSpec{
			Replicas:             ptrTo(replicasOf(p)),
			Selector:             &metav1.LabelSelector{MatchLabels: selectorLabels(p)},
			Strategy:             strategy,
			RevisionHistoryLimit: ptrTo(int32(3)),
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: podLabels, Annotations: map[string]string{AnnotationInputHash: inputsHash}},
				Spec: corev1.PodSpec{
					ServiceAccountName:           p.Name,
					AutomountServiceAccountToken: ptrTo(false),
					EnableServiceLinks:           ptrTo(false),
					SecurityContext: &corev1.PodSecurityContext{
						RunAsNonRoot:   ptrTo(true),
						RunAsUser:      ptrTo(int64(serverUID)),
						RunAsGroup:     ptrTo(int64(serverUID)),
						FSGroup:        ptrTo(int64(serverUID)),
						SeccompProfile: &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault},
					},
					Containers:                []corev1.Container{container},
					Volumes:                   volumes,
					NodeSelector:              p.Spec.NodeSelector,
					Tolerations:               p.Spec.Tolerations,
					Affinity:                  p.Spec.Affinity,
					TopologySpreadConstraints: p.Spec.TopologySpreadConstraints,
				},
			},
		},
	}
}

func buildService(p *clrv1.CLRProvider) *corev1.Service {
	return &corev1.Service{
		TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "Service"},
		ObjectMeta: objectMeta(p, p.Name, ComponentServer),
		Spec: corev1.ServiceSpec{
			Type:     corev1.ServiceTypeClusterIP,
			Selector: selectorLabels(p),
			Ports: []corev1.ServicePort{
				{Name: "http", Port: 80, TargetPort: intstr.FromString("http"), Protocol: corev1.ProtocolTCP},
				{Name: "metrics", Port: metricsPort, TargetPort: intstr.FromString("metrics"), Protocol: corev1.ProtocolTCP},
			},
		},
	}
}

// ingressTLSSecret is the Secret the Ingress terminates TLS with, "" for none.
func ingressTLSSecret(p *clrv1.CLRProvider) string {
	in := p.Spec.Ingress
	if in == nil || in.TLS == nil {
		return ""
	}
	if in.TLS.SecretName != "" {
		return in.TLS.SecretName
	}
	return providerTLSSecretName(p.Name)
}

func buildIngress(p *clrv1.CLRProvider) *networkingv1.Ingress {
	in := p.Spec.Ingress
	path := p.Spec.PathPrefix
	if path == "" {
		path = "/"
	}
	pathType := networkingv1.PathTypePrefix
	ing := &networkingv1.Ingress{
		TypeMeta:   metav1.TypeMeta{APIVersion: "networking.k8s.io/v1", Kind: "Ingress"},
		ObjectMeta: objectMeta(p, p.Name, ComponentServer),
		Spec: networkingv1.IngressSpec{
			IngressClassName: in.ClassName,
			Rules: []networkingv1.IngressRule{{
				Host: p.Spec.Hostname,
				IngressRuleValue: networkingv1.IngressRuleValue{HTTP: &networkingv1.HTTPIngressRuleValue{Paths: []networkingv1.HTTPIngressPath{{
					Path: path, PathType: &pathType,
					Backend: networkingv1.IngressBackend{Service: &networkingv1.IngressServiceBackend{
						Name: p.Name, Port: networkingv1.ServiceBackendPort{Name: "http"}}},
				}}}},
			}},
		},
	}
	if len(in.Annotations) > 0 {
		ing.Annotations = maps.Clone(in.Annotations)
	}
	if s := ingressTLSSecret(p); s != "" {
		ing.Spec.TLS = []networkingv1.IngressTLS{{Hosts: []string{p.Spec.Hostname}, SecretName: s}}
	}
	return ing
}

// buildTLSCertificate asks cert-manager for the Ingress certificate when
// spec.ingress.tls.issuerRef is set.
func buildTLSCertificate(p *clrv1.CLRProvider) *cmapi.Certificate {
	ref := p.Spec.Ingress.TLS.IssuerRef
	kind, group := ref.Kind, ref.Group
	if kind == "" {
		kind = cmapi.IssuerKind
	}
	if group == "" {
		group = "cert-manager.io"
	}
	return &cmapi.Certificate{
		TypeMeta:   metav1.TypeMeta{APIVersion: cmapi.SchemeGroupVersion.String(), Kind: cmapi.CertificateKind},
		ObjectMeta: objectMeta(p, providerTLSSecretName(p.Name), "tls"),
		Spec: cmapi.CertificateSpec{
			SecretName:     providerTLSSecretName(p.Name),
			SecretTemplate: &cmapi.CertificateSecretTemplate{Labels: providerLabels(p, "tls")},
			DNSNames:       []string{p.Spec.Hostname},
			IssuerRef:      cmmeta.IssuerReference{Name: ref.Name, Kind: kind, Group: group},
			Usages:         []cmapi.KeyUsage{cmapi.UsageDigitalSignature, cmapi.UsageKeyEncipherment, cmapi.UsageServerAuth},
		},
	}
}

// buildNetworkPolicy lets in only the ingress controller (API port) and the
// monitoring stack (metrics port), and lets out only DNS, the database and
// the identity provider over HTTPS. The database and IdP are outside the
// cluster's knowledge (a DSN host, an issuer URL), so egress is by port.
func buildNetworkPolicy(p *clrv1.CLRProvider, opts BuildOptions) *networkingv1.NetworkPolicy {
	tcp, udp := corev1.ProtocolTCP, corev1.ProtocolUDP
	port := func(proto corev1.Protocol, n int32) networkingv1.NetworkPolicyPort {
		return networkingv1.NetworkPolicyPort{Protocol: &proto, Port: ptrTo(intstr.FromInt32(n))}
	}
	nsPeers := func(names []string) []networkingv1.NetworkPolicyPeer {
		if len(names) == 0 {
			return nil
		}
		return []networkingv1.NetworkPolicyPeer{{NamespaceSelector: &metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{{
			Key: corev1.LabelMetadataName, Operator: metav1.LabelSelectorOpIn, Values: names}}}}}
	}
	var ingress []networkingv1.NetworkPolicyIngressRule
	if peers := nsPeers(opts.IngressNamespaces); peers != nil {
		ingress = append(ingress, networkingv1.NetworkPolicyIngressRule{From: peers, Ports: []networkingv1.NetworkPolicyPort{port(tcp, httpPort)}})
	}
	if peers := nsPeers(opts.MonitoringNamespaces); peers != nil {
		ingress = append(ingress, networkingv1.NetworkPolicyIngressRule{From: peers, Ports: []networkingv1.NetworkPolicyPort{port(tcp, metricsPort)}})
	}
	egress := []networkingv1.NetworkPolicyEgressRule{{Ports: []networkingv1.NetworkPolicyPort{port(udp, 53), port(tcp, 53)}}}
	if p.Spec.Storage.Postgres != nil {
		egress = append(egress, networkingv1.NetworkPolicyEgressRule{Ports: []networkingv1.NetworkPolicyPort{port(tcp, 5432)}})
	}
	if p.Spec.OAuth.OIDC != nil {
		egress = append(egress, networkingv1.NetworkPolicyEgressRule{Ports: []networkingv1.NetworkPolicyPort{port(tcp, 443)}})
	}
	return &networkingv1.NetworkPolicy{
		TypeMeta:   metav1.TypeMeta{APIVersion: "networking.k8s.io/v1", Kind: "NetworkPolicy"},
		ObjectMeta: objectMeta(p, p.Name, ComponentServer),
		Spec: networkingv1.NetworkPolicySpec{
			PodSelector: metav1.LabelSelector{MatchLabels: selectorLabels(p)},
			PolicyTypes: []networkingv1.PolicyType{networkingv1.PolicyTypeIngress, networkingv1.PolicyTypeEgress},
			Ingress:     ingress,
			Egress:      egress,
		},
	}
}

func buildPDB(p *clrv1.CLRProvider) *policyv1.PodDisruptionBudget {
	return &policyv1.PodDisruptionBudget{
		TypeMeta:   metav1.TypeMeta{APIVersion: "policy/v1", Kind: "PodDisruptionBudget"},
		ObjectMeta: objectMeta(p, p.Name, ComponentServer),
		Spec: policyv1.PodDisruptionBudgetSpec{
			MaxUnavailable: ptrTo(intstr.FromInt32(1)),
			Selector:       &metav1.LabelSelector{MatchLabels: selectorLabels(p)},
		},
	}
}

// buildServiceMonitor is a prometheus-operator ServiceMonitor, built as
// unstructured: the operator does not link prometheus-operator's types for
// one optional object.
func buildServiceMonitor(p *clrv1.CLRProvider) *unstructured.Unstructured {
	u := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "monitoring.coreos.com/v1",
		"kind":       "ServiceMonitor",
		"metadata": map[string]any{
			"name":      p.Name,
			"namespace": p.Namespace,
			"labels":    toAnyMap(providerLabels(p, ComponentServer)),
		},
		"spec": map[string]any{
			"selector":  map[string]any{"matchLabels": toAnyMap(selectorLabels(p))},
			"endpoints": []any{map[string]any{"port": "metrics", "path": "/metrics", "interval": "30s"}},
		},
	}}
	return u
}

func toAnyMap(m map[string]string) map[string]any {
	out := make(map[string]any, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}
