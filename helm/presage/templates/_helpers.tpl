{{/* ---- names and labels ------------------------------------------------------------------ */}}

{{- define "presage.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/*
The release's base name. Kept to 21 characters, so that every object name built on it
(<fullname>-<mirror name of at most 30>) stays within the 52 characters a StatefulSet may have.
*/}}
{{- define "presage.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 21 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 21 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 21 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{- define "presage.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "presage.selectorLabels" -}}
app.kubernetes.io/name: {{ include "presage.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "presage.labels" -}}
helm.sh/chart: {{ include "presage.chart" . }}
{{ include "presage.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: presage
{{- end -}}

{{/* Selector labels of one Presage node: (dict "root" $ "node" $node) */}}
{{- define "presage.nodeSelectorLabels" -}}
{{ include "presage.selectorLabels" .root }}
app.kubernetes.io/component: {{ .node.role }}
presage.io/node: {{ .node.name }}
{{- end -}}

{{- define "presage.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "presage.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{- define "presage.image" -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) -}}
{{- end -}}

{{/* ---- NATS and PostgreSQL ----------------------------------------------------------------- */}}

{{- define "presage.nats.fullname" -}}
{{- printf "%s-nats" (include "presage.fullname" .) -}}
{{- end -}}

{{- define "presage.postgresql.fullname" -}}
{{- printf "%s-postgresql" (include "presage.fullname" .) -}}
{{- end -}}

{{/* The env entry PRESAGE_NATS_URL: the in-chart server, or the external URL (or its Secret). */}}
{{- define "presage.natsUrlEnv" -}}
- name: PRESAGE_NATS_URL
{{- if .Values.nats.enabled }}
  value: {{ printf "nats://%s:4222" (include "presage.nats.fullname" .) | quote }}
{{- else if .Values.externalNats.existingSecret }}
  valueFrom:
    secretKeyRef:
      name: {{ .Values.externalNats.existingSecret }}
      key: {{ .Values.externalNats.existingSecretKey }}
{{- else }}
  value: {{ required "nats.enabled is false: set externalNats.url or externalNats.existingSecret" .Values.externalNats.url | quote }}
{{- end }}
{{- end -}}

{{- define "presage.db.host" -}}
{{- if .Values.postgresql.enabled -}}
{{- include "presage.postgresql.fullname" . -}}
{{- else -}}
{{- required "postgresql.enabled is false: set externalDatabase.host" .Values.externalDatabase.host -}}
{{- end -}}
{{- end -}}

{{- define "presage.db.port" -}}
{{- if .Values.postgresql.enabled -}}5432{{- else -}}{{- .Values.externalDatabase.port | int -}}{{- end -}}
{{- end -}}

{{- define "presage.db.username" -}}
{{- if .Values.postgresql.enabled -}}{{ .Values.postgresql.auth.username }}{{- else -}}{{ .Values.externalDatabase.username }}{{- end -}}
{{- end -}}

{{/* The Secret and key holding the database password. */}}
{{- define "presage.db.secretName" -}}
{{- $auth := ternary .Values.postgresql.auth .Values.externalDatabase .Values.postgresql.enabled -}}
{{- default (printf "%s-db" (include "presage.fullname" .)) $auth.existingSecret -}}
{{- end -}}

{{- define "presage.db.secretKey" -}}
{{- $auth := ternary .Values.postgresql.auth .Values.externalDatabase .Values.postgresql.enabled -}}
{{- if $auth.existingSecret -}}{{ $auth.existingSecretPasswordKey }}{{- else -}}password{{- end -}}
{{- end -}}

{{/* Whether this chart writes the Secret <fullname>-db. */}}
{{- define "presage.db.createSecret" -}}
{{- if .Values.postgresql.enabled -}}
{{- if not .Values.postgresql.auth.existingSecret -}}true{{- end -}}
{{- else if not .Values.externalDatabase.existingSecret -}}
{{- $_ := include "presage.db.host" . -}}
{{- $_ := required "postgresql.enabled is false: set externalDatabase.password or externalDatabase.existingSecret" .Values.externalDatabase.password -}}
true
{{- end -}}
{{- end -}}

{{/* "?sslmode=..." or "" */}}
{{- define "presage.db.urlParams" -}}
{{- if and (not .Values.postgresql.enabled) .Values.externalDatabase.sslMode -}}
{{- printf "?sslmode=%s" .Values.externalDatabase.sslMode -}}
{{- end -}}
{{- end -}}

{{/* ---- the nodes --------------------------------------------------------------------------- */}}

{{/*
A node's JVM options added to the image's (JAVA_OPTS_APPEND): its garbage collector's flag, unless
javaOpts names a collector itself (two make the JVM refuse to start), then javaOpts.
(dict "root" $ "node" $node)
*/}}
{{- define "presage.javaOptsAppend" -}}
{{- $opts := .root.Values.javaOpts | default "" -}}
{{- $gc := get (dict "shenandoah" "-XX:+UseShenandoahGC" "g1" "-XX:+UseG1GC") (.node.garbageCollector | default "") -}}
{{- if regexMatch "-XX:\\+Use[A-Za-z0-9]+GC" $opts -}}{{- $gc = "" -}}{{- end -}}
{{- trim (printf "%s %s" $gc $opts) -}}
{{- end -}}

{{/* A node's database: the one it names, else <prefix><nodeId with '-' as '_'>. (dict "root" $ "nodeId" .. "database" ..) */}}
{{- define "presage.databaseFor" -}}
{{- if .database -}}
{{- .database -}}
{{- else -}}
{{- printf "%s%s" .root.Values.databasePrefix (.nodeId | lower | replace "-" "_") -}}
{{- end -}}
{{- end -}}

{{/*
Every Presage node, resolved and checked, as JSON {"items": [...]}: the coordinator first, then the
mirrors. Each item: name, role, nodeId, database, garbageCollector, fullname, config (merged over the global config),
extraEnv, resources, service, podAnnotations, podLabels, nodeSelector, tolerations, affinity,
terminationGracePeriodSeconds. Templates read it with fromJson.
*/}}
{{- define "presage.nodes" -}}
{{- $root := . -}}
{{- $fullname := include "presage.fullname" . -}}
{{- $items := list -}}
{{- $c := .Values.coordinator -}}
{{- $standby := and $c.standby $c.standby.enabled -}}
{{- $coordinators := list (dict "name" "coordinator" "nodeId" $c.nodeId "database" $c.database) -}}
{{- if $standby -}}
{{- $coordinators = append $coordinators (dict "name" "coordinator-standby" "nodeId" $c.standby.nodeId "database" $c.standby.database) -}}
{{- end -}}
{{- range $k := $coordinators -}}
{{- $items = append $items (dict
    "name" $k.name
    "role" "coordinator"
    "lease" $standby
    "nodeId" $k.nodeId
    "database" (include "presage.databaseFor" (dict "root" $root "nodeId" $k.nodeId "database" $k.database))
    "garbageCollector" ($c.garbageCollector | default "")
    "fullname" (printf "%s-%s" $fullname $k.name)
    "config" (merge (deepCopy ($c.config | default dict)) (deepCopy ($root.Values.config | default dict)))
    "extraEnv" ($c.extraEnv | default list)
    "resources" ($c.resources | default dict)
    "service" $c.service
    "podAnnotations" ($c.podAnnotations | default dict)
    "podLabels" ($c.podLabels | default dict)
    "nodeSelector" ($c.nodeSelector | default dict)
    "tolerations" ($c.tolerations | default list)
    "affinity" ($c.affinity | default dict)
    "terminationGracePeriodSeconds" $c.terminationGracePeriodSeconds) -}}
{{- end -}}
{{- $m := .Values.mirrors -}}
{{- $entries := list -}}
{{- if $m.list -}}
{{- $entries = $m.list -}}
{{- else -}}
{{- range $i := until (int $m.count) -}}
{{- $entries = append $entries (dict "name" (printf "mirror%d" (add1 $i))) -}}
{{- end -}}
{{- end -}}
{{- range $entry := $entries -}}
{{- $e := $entry -}}
{{- if kindIs "string" $entry -}}{{- $e = dict "name" $entry -}}{{- end -}}
{{- $name := required "every entry of mirrors.list needs a name" $e.name | toString -}}
{{- $nodeId := default $name $e.nodeId | toString -}}
{{- $items = append $items (dict
    "name" $name
    "role" "mirror"
    "nodeId" $nodeId
    "database" (include "presage.databaseFor" (dict "root" $root "nodeId" $nodeId "database" $e.database))
    "garbageCollector" (ternary $e.garbageCollector ($m.garbageCollector | default "") (hasKey $e "garbageCollector"))
    "fullname" (printf "%s-%s" $fullname $name)
    "config" (merge (deepCopy ($e.config | default dict)) (deepCopy ($m.config | default dict)) (deepCopy ($root.Values.config | default dict)))
    "extraEnv" (concat ($m.extraEnv | default list) ($e.extraEnv | default list))
    "resources" (default $m.resources $e.resources)
    "service" $m.service
    "podAnnotations" (merge (deepCopy ($e.podAnnotations | default dict)) (deepCopy ($m.podAnnotations | default dict)))
    "podLabels" (merge (deepCopy ($e.podLabels | default dict)) (deepCopy ($m.podLabels | default dict)))
    "nodeSelector" (default $m.nodeSelector $e.nodeSelector | default dict)
    "tolerations" (default $m.tolerations $e.tolerations | default list)
    "affinity" (default $m.affinity $e.affinity | default dict)
    "terminationGracePeriodSeconds" $m.terminationGracePeriodSeconds) -}}
{{- end -}}
{{- /* checks: names, node ids and databases distinct and well formed */ -}}
{{- $names := dict -}}
{{- $ids := dict -}}
{{- $dbs := dict -}}
{{- range $n := $items -}}
{{- if eq $n.role "mirror" -}}
{{- if not (regexMatch "^[a-z0-9]([-a-z0-9]{0,28}[a-z0-9])?$" $n.name) -}}
{{- fail (printf "mirror name %q: use a DNS label of at most 30 characters (lower-case letters, digits, '-')" $n.name) -}}
{{- end -}}
{{- if has $n.name (list "coordinator" "coordinator-standby" "nats" "postgresql" "db" "mirrors" "test") -}}
{{- fail (printf "mirror name %q is taken by another object of the chart" $n.name) -}}
{{- end -}}
{{- end -}}
{{- if hasKey $names $n.name -}}{{- fail (printf "two mirrors are named %q" $n.name) -}}{{- end -}}
{{- $_ := set $names $n.name true -}}
{{- if not (regexMatch "^[A-Za-z0-9_-]{1,50}$" $n.nodeId) -}}
{{- fail (printf "node id %q: use 1 to 50 letters, digits, '_' or '-' (it names a NATS consumer)" $n.nodeId) -}}
{{- end -}}
{{- if hasKey $ids $n.nodeId -}}{{- fail (printf "node id %q is used twice: every node needs its own" $n.nodeId) -}}{{- end -}}
{{- $_ := set $ids $n.nodeId true -}}
{{- if not (regexMatch "^[a-z_][a-z0-9_]{0,62}$" $n.database) -}}
{{- fail (printf "database name %q: use at most 63 lower-case letters, digits and '_', not starting with a digit" $n.database) -}}
{{- end -}}
{{- if hasKey $dbs $n.database -}}{{- fail (printf "database %q is used by two nodes: every node needs its own" $n.database) -}}{{- end -}}
{{- $_ := set $dbs $n.database true -}}
{{- end -}}
{{- dict "items" $items | toJson -}}
{{- end -}}

{{/* Environment variable names the chart sets itself; `config` and extraEnv may not repeat them. */}}
{{- define "presage.reservedEnv" -}}
{{- list "QUARKUS_PROFILE" "PRESAGE_ROLE" "PRESAGE_NODE_ID" "QUARKUS_HTTP_HOST" "QUARKUS_HTTP_PORT" "PRESAGE_NATS_URL" "QUARKUS_DATASOURCE_USERNAME" "QUARKUS_DATASOURCE_PASSWORD" "QUARKUS_DATASOURCE_JDBC_URL" "QUARKUS_DATASOURCE_REACTIVE_URL" "PRESAGE_MIRROR_COORDINATOR_URL" "JAVA_OPTS_APPEND" "PRESAGE_LEASE_ENABLED" "PRESAGE_LEASE_TTL" | toJson -}}
{{- end -}}

{{/* A MicroProfile config key as an environment variable name: non-alphanumerics to '_', upper case. */}}
{{- define "presage.envName" -}}
{{- regexReplaceAll "[^A-Za-z0-9]" (toString .) "_" | upper -}}
{{- end -}}

{{/* A value as a string; whole numbers without an exponent (values files give numbers as floats). */}}
{{- define "presage.envValue" -}}
{{- if and (kindIs "float64" .) (eq (float64 (int64 .)) .) -}}
{{- int64 . -}}
{{- else -}}
{{- toString . -}}
{{- end -}}
{{- end -}}

{{/* The coordinator's in-cluster URL. */}}
{{- define "presage.coordinatorUrl" -}}
{{- printf "http://%s-coordinator:%d" (include "presage.fullname" .) (int .Values.coordinator.service.port) -}}
{{- end -}}

{{/* What mirrors are given: the coordinator's URL, then the standby's when there is one (they use the READY one). */}}
{{- define "presage.coordinatorUrls" -}}
{{- include "presage.coordinatorUrl" . -}}
{{- if and .Values.coordinator.standby .Values.coordinator.standby.enabled -}}
{{- printf ",http://%s-coordinator-standby:%d" (include "presage.fullname" .) (int .Values.coordinator.service.port) -}}
{{- end -}}
{{- end -}}

{{/* Changes when the database credentials given in values change, so that the nodes restart. */}}
{{- define "presage.db.credentialsChecksum" -}}
{{- list .Values.postgresql.enabled .Values.postgresql.auth .Values.externalDatabase | toJson | sha256sum -}}
{{- end -}}
