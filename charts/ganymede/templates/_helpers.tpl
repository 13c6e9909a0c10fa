{{/* Object names: <release>-ganymede, or the release's name when it already says ganymede (as Helm's scaffold). */}}
{{- define "ganymede.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "ganymede.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{- define "ganymede.hubName" -}}
{{- printf "%s-hub" (include "ganymede.fullname" . | trunc 59 | trimSuffix "-") }}
{{- end }}

{{- define "ganymede.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
app.kubernetes.io/part-of: {{ include "ganymede.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{/* The hub's pod: what its Deployment, Service and the network policies select. */}}
{{- define "ganymede.hubSelector" -}}
app.kubernetes.io/name: {{ include "ganymede.name" . }}-hub
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "ganymede.serviceAccountName" -}}
{{- if .Values.hub.serviceAccount.create }}
{{- default (include "ganymede.hubName" .) .Values.hub.serviceAccount.name }}
{{- else }}
{{- required "hub.serviceAccount.name: name an existing ServiceAccount when create is false" .Values.hub.serviceAccount.name }}
{{- end }}
{{- end }}

{{- define "ganymede.secretName" -}}
{{- default (include "ganymede.fullname" .) .Values.secrets.existingSecret }}
{{- end }}

{{- define "ganymede.policiesConfigMap" -}}
{{- default (printf "%s-policies" (include "ganymede.fullname" .)) .Values.policies.existingConfigMap }}
{{- end }}

{{- define "ganymede.image" -}}
{{- printf "%s:%s" .repository (default .appVersion .tag) }}
{{- end }}

{{/* Where the hub's pod keeps things. */}}
{{- define "ganymede.paths" -}}
data: /srv/ganymede
policies: /etc/ganymede/policies
secrets: /etc/ganymede/secrets
config: /etc/ganymede/config
{{- end }}

{{/*
The hub's configuration (ganymede.yaml) as YAML: what the chart sets, with hub.config merged over it. The single
source for the ConfigMap and for every template that must agree with the hub (the servers' and build pods' labels in
the network policies). Secrets are files in /etc/ganymede/secrets that the configuration names (bindPasswordFile,
clientSecretFile), or environment variables the Deployment sets (the database's URL, the registry's password).
*/}}
{{- define "ganymede.hubConfig" -}}
{{- $paths := include "ganymede.paths" . | fromYaml }}
{{- $prefix := include "ganymede.fullname" . | trunc 32 | trimSuffix "-" }}
{{- $publicUrl := "" }}
{{- with .Values.ingress }}{{ if and .enabled .hosts }}
{{- $publicUrl = printf "%s://%s/" (ternary "https" "http" (gt (len .tls) 0)) (index .hosts 0) }}
{{- end }}{{ end }}
{{- /* A folder in the claim, not its root: a volume's root belongs to root, and the hub keeps its folder's modes. */}}
{{- $hub := dict "bind" "http://0.0.0.0:8081" "dataDir" (printf "%s/data" $paths.data) "secretKeyFile" (printf "%s/secret-key" $paths.secrets) "trustProxy" .Values.ingress.enabled }}
{{- if $publicUrl }}{{ $_ := set $hub "publicUrl" $publicUrl }}{{ end }}
{{- $chart := dict
  "hub" $hub
  "policies" (dict "dir" $paths.policies)
  "spawner" (dict "backend" "kubernetes" "kubernetes" (dict "namespace" .Release.Namespace "namePrefix" $prefix))
  "builder" (dict "backend" "kubernetes" "kubernetes" (dict "namespace" .Release.Namespace "namePrefix" $prefix))
}}
{{- $config := mustMergeOverwrite $chart (deepCopy .Values.hub.config) }}
{{- if eq .Values.hub.database "postgresql" }}
{{- if $config.database }}{{ if $config.database.url }}
{{- fail "hub.config.database.url: the database's URL holds its password: set secrets.databaseUrl (or database-url in secrets.existingSecret)" }}
{{- end }}{{ end }}
{{- end }}
{{- toYaml $config }}
{{- end }}

{{/* The rules of egressAllowRules (zero-to-jupyterhub's switches), as NetworkPolicyEgressRules. */}}
{{- define "ganymede.egressAllowRules" -}}
{{- $private := list "10.0.0.0/8" "172.16.0.0/12" "192.168.0.0/16" }}
{{- $dns := list (dict "port" 53 "protocol" "UDP") (dict "port" 53 "protocol" "TCP") }}
{{- if .nonPrivateIPs }}
- to:
    - ipBlock:
        cidr: 0.0.0.0/0
        except:
          {{- toYaml $private | nindent 10 }}
          {{- if not .cloudMetadataServer }}
          - 169.254.169.254/32
          {{- end }}
{{- end }}
{{- if .privateIPs }}
- to:
    {{- range $private }}
    - ipBlock: { cidr: {{ . }} }
    {{- end }}
{{- end }}
{{- if .cloudMetadataServer }}
- to:
    - ipBlock: { cidr: 169.254.169.254/32 }
{{- end }}
{{- if .dnsPortsKubeSystemNamespace }}
- to:
    - namespaceSelector:
        matchLabels: { kubernetes.io/metadata.name: kube-system }
  ports: {{ toYaml $dns | nindent 4 }}
{{- end }}
{{- if .dnsPortsPrivateIPs }}
- to:
    {{- range $private }}
    - ipBlock: { cidr: {{ . }} }
    {{- end }}
  ports: {{ toYaml $dns | nindent 4 }}
{{- end }}
{{- end }}

{{/* A duration of the hub's configuration ("30s", "2m", "1h", or milliseconds) in whole seconds. */}}
{{- define "ganymede.seconds" -}}
{{- $d := toString . -}}
{{- if hasSuffix "ms" $d -}}{{ div (trimSuffix "ms" $d | int) 1000 }}
{{- else if hasSuffix "s" $d -}}{{ trimSuffix "s" $d | int }}
{{- else if hasSuffix "m" $d -}}{{ mul (trimSuffix "m" $d | int) 60 }}
{{- else if hasSuffix "h" $d -}}{{ mul (trimSuffix "h" $d | int) 3600 }}
{{- else -}}{{ div ($d | int) 1000 }}
{{- end -}}
{{- end }}
