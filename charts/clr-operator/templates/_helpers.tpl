{{/* Name of the chart, overridable with nameOverride. */}}
{{- define "clr-operator.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* Full name of the release's objects: the release name, prefixed with the chart name unless it already holds it. */}}
{{- define "clr-operator.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{/*
Labels of every object. app.kubernetes.io/managed-by is Helm here: the
operator's own "clr-operator" value of that label marks the children it
caches, which the chart's objects are not.
*/}}
{{- define "clr-operator.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{ include "clr-operator.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: clr-operator
{{- end -}}

{{- define "clr-operator.selectorLabels" -}}
app.kubernetes.io/name: {{ include "clr-operator.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "clr-operator.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "clr-operator.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{/* An image reference from {repository, tag, digest}; the tag defaults to the appVersion. */}}
{{- define "clr-operator.image" -}}
{{- $img := index . 0 -}}{{- $root := index . 1 -}}
{{- if $img.digest -}}
{{- printf "%s@%s" $img.repository $img.digest -}}
{{- else -}}
{{- printf "%s:%s" $img.repository (default $root.Chart.AppVersion $img.tag) -}}
{{- end -}}
{{- end -}}

{{/*
The operator's RBAC rules, from files/rbac/role.yaml: a verbatim copy of
config/rbac/role.yaml, which controller-gen generates from the
+kubebuilder:rbac markers in controllers/ (hack/sync-chart-crds.sh copies it;
`make verify-generated` fails when the copy is stale). Rendered as YAML
{cluster: [...], namespaced: [...]}: rules on cluster-scoped resources, and
rules on namespaced ones. A rule naming both kinds is split in two.
*/}}
{{- define "clr-operator.managerRules" -}}
{{- $role := .Files.Get "files/rbac/role.yaml" | fromYaml -}}
{{- /* Cluster-scoped resources that the markers may name, as group/resource. */ -}}
{{- $clusterScoped := list "/namespaces" "/nodes" "/persistentvolumes" "cert-manager.io/clusterissuers" "rbac.authorization.k8s.io/clusterroles" "rbac.authorization.k8s.io/clusterrolebindings" "apiextensions.k8s.io/customresourcedefinitions" "storage.k8s.io/storageclasses" "networking.k8s.io/ingressclasses" -}}
{{- $cluster := list -}}
{{- $namespaced := list -}}
{{- range $rule := $role.rules -}}
{{- $c := list -}}
{{- $n := list -}}
{{- range $res := $rule.resources -}}
{{- $base := splitList "/" $res | first -}}
{{- $isCluster := false -}}
{{- range $g := $rule.apiGroups -}}
{{- if has (printf "%s/%s" $g $base) $clusterScoped -}}{{- $isCluster = true -}}{{- end -}}
{{- end -}}
{{- if $isCluster -}}{{- $c = append $c $res -}}{{- else -}}{{- $n = append $n $res -}}{{- end -}}
{{- end -}}
{{- if $c -}}{{- $cluster = append $cluster (dict "apiGroups" $rule.apiGroups "resources" $c "verbs" $rule.verbs) -}}{{- end -}}
{{- if $n -}}{{- $namespaced = append $namespaced (dict "apiGroups" $rule.apiGroups "resources" $n "verbs" $rule.verbs) -}}{{- end -}}
{{- end -}}
{{- toYaml (dict "cluster" $cluster "namespaced" $namespaced) -}}
{{- end -}}
