{{/*
Names, labels and the shared pieces of the CloudFlow templates.
*/}}

{{- define "cloudflow.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
The base of every object name: <release>-cloudflow (or fullnameOverride), cut to 44 characters.
Object names are this base plus a suffix of up to 18 characters (-datasource-broker,
-pipeline-registry, -kafka-headless, -connections) and must be DNS labels of at most 63. A
StatefulSet's name (-mongodb, 8) also reappears in its pods' controller-revision-hash label as
<name>-<hash of up to 10>, which has to stay within 63 too: 44 + 8 + 1 + 10 = 63.
*/}}
{{- define "cloudflow.fullname" -}}
{{- $full := "" }}
{{- if .Values.fullnameOverride }}
{{- $full = .Values.fullnameOverride }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- $full = .Release.Name }}
{{- else }}
{{- $full = printf "%s-%s" .Release.Name $name }}
{{- end }}
{{- end }}
{{- $full | trunc 44 | trimSuffix "-" }}
{{- end }}

{{- define "cloudflow.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Labels of every object; pass (dict "ctx" $ "component" "gateway"). */}}
{{- define "cloudflow.labels" -}}
helm.sh/chart: {{ include "cloudflow.chart" .ctx }}
{{ include "cloudflow.selectorLabels" . }}
app.kubernetes.io/version: {{ .ctx.Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .ctx.Release.Service }}
app.kubernetes.io/part-of: cloudflow
{{- end }}

{{- define "cloudflow.selectorLabels" -}}
app.kubernetes.io/name: {{ include "cloudflow.name" .ctx }}
app.kubernetes.io/instance: {{ .ctx.Release.Name }}
{{- if .component }}
app.kubernetes.io/component: {{ .component }}
{{- end }}
{{- end }}

{{/*
The six services: name (container argument, component label, object suffix) -> values key.
*/}}
{{- define "cloudflow.services" -}}
gateway: gateway
auth: auth
pipeline-registry: pipelineRegistry
job-scheduler: jobScheduler
worker: worker
datasource-broker: datasourceBroker
{{- end }}

{{/* The services that read and write the data root. */}}
{{- define "cloudflow.dataRootServices" -}}
[job-scheduler, worker, datasource-broker]
{{- end }}

{{/* A NetworkPolicy peer: the pods of the six CloudFlow services of this release. */}}
{{- define "cloudflow.servicePodsPeer" -}}
podSelector:
  matchLabels:
    {{- include "cloudflow.selectorLabels" (dict "ctx" .) | nindent 4 }}
  matchExpressions:
    - key: app.kubernetes.io/component
      operator: In
      values: [gateway, auth, pipeline-registry, job-scheduler, worker, datasource-broker]
{{- end }}

{{- define "cloudflow.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "cloudflow.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{- define "cloudflow.image" -}}
{{- printf "%s:%s" .Values.image.repository (.Values.image.tag | default .Chart.AppVersion | toString) }}
{{- end }}

{{/* The public URL of the API (OAUTH_ISSUER). */}}
{{- define "cloudflow.publicUrl" -}}
{{- if .Values.publicUrl }}
{{- .Values.publicUrl | trimSuffix "/" }}
{{- else if and .Values.ingress.enabled .Values.ingress.host }}
{{- printf "%s://%s" (ternary "https" "http" .Values.ingress.tls.enabled) .Values.ingress.host }}
{{- end }}
{{- end }}

{{/* Secret names. */}}
{{- define "cloudflow.generatedSecretName" -}}
{{- printf "%s-secrets" (include "cloudflow.fullname" .) }}
{{- end }}

{{- define "cloudflow.appSecretName" -}}
{{- .Values.secrets.existingSecret | default (include "cloudflow.generatedSecretName" .) }}
{{- end }}

{{- define "cloudflow.connectionsSecretName" -}}
{{- printf "%s-connections" (include "cloudflow.fullname" .) }}
{{- end }}

{{/* True when the MongoDB URL is given as a value (mongodb.url): the chart keeps it in its
connections Secret, never in the ConfigMap, since credentials may sit anywhere in it (user:pass@,
or the query string, e.g. authMechanismProperties=AWS_SESSION_TOKEN:...). */}}
{{- define "cloudflow.mongoUrlInChart" -}}
{{- if and (not .Values.mongodb.inCluster.enabled) (not .Values.mongodb.existingSecret) .Values.mongodb.url }}true{{ end }}
{{- end }}

{{/* True when the chart's connections Secret has anything to hold. */}}
{{- define "cloudflow.hasConnectionsSecret" -}}
{{- if or (include "cloudflow.mongoUrlInChart" .) (include "cloudflow.kafkaSaslPasswordInChart" .) }}true{{ end }}
{{- end }}

{{/* The in-cluster MongoDB's root password (MONGODB_PASSWORD): the Secret and key holding it. */}}
{{- define "cloudflow.mongodbPasswordSecretName" -}}
{{- .Values.mongodb.inCluster.existingSecret | default (include "cloudflow.generatedSecretName" .) }}
{{- end }}

{{- define "cloudflow.mongodbPasswordSecretKey" -}}
{{- ternary .Values.mongodb.inCluster.existingSecretKey "MONGODB_PASSWORD" (not (empty .Values.mongodb.inCluster.existingSecret)) }}
{{- end }}

{{/* True when the chart's generated Secret holds the in-cluster MongoDB's password. */}}
{{- define "cloudflow.mongodbPasswordInChart" -}}
{{- if and .Values.mongodb.inCluster.enabled (not .Values.mongodb.inCluster.existingSecret) }}true{{ end }}
{{- end }}

{{- define "cloudflow.kafkaSaslPasswordInChart" -}}
{{- if and (not .Values.kafka.inCluster.enabled) .Values.kafka.sasl.enabled (not .Values.kafka.sasl.existingSecret) }}true{{ end }}
{{- end }}

{{/* The Kafka bootstrap servers the services (and KEDA) connect to. */}}
{{- define "cloudflow.kafkaBrokers" -}}
{{- if .Values.kafka.inCluster.enabled }}
{{- printf "%s-kafka.%s.svc.%s:9092" (include "cloudflow.fullname" .) .Release.Namespace .Values.clusterDomain }}
{{- else }}
{{- .Values.kafka.brokers }}
{{- end }}
{{- end }}

{{/* The task topic and the worker pool's consumer group: WORKER_GROUP_ID and Topics.tasks of
libs/shared (renaming either is a migration; the chart test checks they agree). */}}
{{- define "cloudflow.taskTopic" -}}cloudflow.tasks{{- end }}
{{- define "cloudflow.workerGroupId" -}}cloudflow.worker.tasks{{- end }}

{{/*
A value kept across upgrades: the one in the existing Secret when there is one (lookup; empty
under helm template and --dry-run, and so under GitOps tools that render with helm template,
such as Argo CD: there every render generates anew, hence secrets.generate), else a new one from
the generator. Returns base64.
Pass (dict "ctx" $ "secret" name "key" KEY "generated" value).
*/}}
{{- define "cloudflow.keptValue" -}}
{{- $existing := lookup "v1" "Secret" .ctx.Release.Namespace .secret }}
{{- if and $existing $existing.data (hasKey $existing.data .key) }}
{{- index $existing.data .key }}
{{- else }}
{{- .generated | b64enc }}
{{- end }}
{{- end }}

{{/* Pod-level security context of the CloudFlow services (the image runs as uid 10001). */}}
{{- define "cloudflow.podSecurityContext" -}}
runAsNonRoot: true
runAsUser: 10001
runAsGroup: 10001
fsGroup: 10001
fsGroupChangePolicy: OnRootMismatch
seccompProfile:
  type: RuntimeDefault
{{- end }}

{{- define "cloudflow.containerSecurityContext" -}}
runAsNonRoot: true
runAsUser: 10001
runAsGroup: 10001
readOnlyRootFilesystem: true
allowPrivilegeEscalation: false
privileged: false
capabilities:
  drop: [ALL]
seccompProfile:
  type: RuntimeDefault
{{- end }}

{{/*
The private CA of the brokers, when one is given: mounted at this directory in every service.
*/}}
{{- define "cloudflow.kafkaCaEnabled" -}}
{{- if and (not .Values.kafka.inCluster.enabled) .Values.kafka.tls.enabled .Values.kafka.tls.caSecret }}true{{ end }}
{{- end }}

{{- define "cloudflow.kafkaCaDir" -}}/etc/cloudflow/kafka-ca{{- end }}
