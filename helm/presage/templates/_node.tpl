{{/*
One Presage node (the coordinator or a mirror): a StatefulSet of exactly one pod, and its Service.
Called with (dict "root" $ "node" $node), $node an item of "presage.nodes".

Why a StatefulSet with one replica, for the coordinator and for each mirror alike: a node is one
identity (its node id, its durable consumer apply-<nodeId>, its database), and two pods of the same
identity must never run at once. A Deployment's rolling update starts the new pod before the old
one is gone; a StatefulSet deletes the old pod and waits for it to terminate before it starts the
next. The coordinator is moreover the single writer of the log (it certifies every transaction in
one in-memory loop), so it cannot be scaled out: more replicas would be more coordinators. JetStream
fencing (Nats-Expected-Last-Sequence) rejects a stray second writer's appends, but that is a
safety net, not a way to run two. A standby (coordinator.standby.enabled) is a second coordinator
identity, in a StatefulSet of its own, that serves only while it holds the lease. Mirrors scale by
adding mirrors (mirrors.count / mirrors.list), each with its own node id and database, never by
adding replicas to one.
*/}}
{{- define "presage.node" -}}
{{- $root := .root -}}
{{- $node := .node -}}
{{- $V := $root.Values -}}
{{- $reserved := include "presage.reservedEnv" $root | fromJsonArray -}}
apiVersion: apps/v1
kind: StatefulSet
metadata:
  name: {{ $node.fullname }}
  labels:
    {{- include "presage.labels" $root | nindent 4 }}
    app.kubernetes.io/component: {{ $node.role }}
    presage.io/node: {{ $node.name }}
spec:
  # One pod, always: see the comment at the top of templates/_node.tpl (single writer / one identity).
  replicas: 1
  serviceName: {{ $node.fullname }}
  podManagementPolicy: OrderedReady
  updateStrategy:
    type: RollingUpdate
  selector:
    matchLabels:
      {{- include "presage.nodeSelectorLabels" (dict "root" $root "node" $node) | nindent 6 }}
  template:
    metadata:
      labels:
        {{- include "presage.labels" $root | nindent 8 }}
        app.kubernetes.io/component: {{ $node.role }}
        presage.io/node: {{ $node.name }}
        {{- with $node.podLabels }}
        {{- toYaml . | nindent 8 }}
        {{- end }}
      annotations:
        checksum/db-credentials: {{ include "presage.db.credentialsChecksum" $root }}
        {{- if $V.metrics.annotations }}
        prometheus.io/scrape: "true"
        prometheus.io/port: "8080"
        prometheus.io/path: /q/metrics
        {{- end }}
        {{- with $node.podAnnotations }}
        {{- toYaml . | nindent 8 }}
        {{- end }}
    spec:
      serviceAccountName: {{ include "presage.serviceAccountName" $root }}
      # Presage does not talk to the Kubernetes API.
      automountServiceAccountToken: false
      {{- with $V.imagePullSecrets }}
      imagePullSecrets:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      {{- with $V.podSecurityContext }}
      securityContext:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      terminationGracePeriodSeconds: {{ $node.terminationGracePeriodSeconds | int }}
      initContainers:
        - name: wait-for-dependencies
          image: {{ printf "%s:%s" $V.initContainer.image.repository $V.initContainer.image.tag | quote }}
          imagePullPolicy: {{ $V.initContainer.image.pullPolicy }}
          command:
            - /bin/sh
            - -ec
            - |
              {{- if $V.nats.enabled }}
              until wget -q -O /dev/null "$NATS_HEALTH_URL"; do
                echo "waiting for NATS JetStream ($NATS_HEALTH_URL)"; sleep 2
              done
              {{- end }}
              until pg_isready -q; do
                echo "waiting for PostgreSQL at $PGHOST:$PGPORT"; sleep 2
              done
              {{- if $V.initContainer.createDatabase }}
              if [ "$(psql -X -tAc "SELECT 1 FROM pg_database WHERE datname = '$PRESAGE_DATABASE'")" = 1 ]; then
                echo "database $PRESAGE_DATABASE exists"
              else
                echo "creating database $PRESAGE_DATABASE"
                psql -X -v ON_ERROR_STOP=1 -c "CREATE DATABASE \"$PRESAGE_DATABASE\""
              fi
              {{- end }}
          env:
            {{- if $V.nats.enabled }}
            - name: NATS_HEALTH_URL
              value: {{ printf "http://%s:8222/healthz?js-enabled-only=true" (include "presage.nats.fullname" $root) | quote }}
            {{- end }}
            - name: PGHOST
              value: {{ include "presage.db.host" $root | quote }}
            - name: PGPORT
              value: {{ include "presage.db.port" $root | quote }}
            - name: PGUSER
              value: {{ include "presage.db.username" $root | quote }}
            - name: PGPASSWORD
              valueFrom:
                secretKeyRef:
                  name: {{ include "presage.db.secretName" $root }}
                  key: {{ include "presage.db.secretKey" $root }}
            - name: PGDATABASE
              value: {{ $V.initContainer.maintenanceDatabase | quote }}
            - name: PGCONNECT_TIMEOUT
              value: "5"
            {{- if and (not $V.postgresql.enabled) $V.externalDatabase.sslMode }}
            - name: PGSSLMODE
              value: {{ $V.externalDatabase.sslMode | quote }}
            {{- end }}
            - name: PRESAGE_DATABASE
              value: {{ $node.database | quote }}
          {{- with $V.initContainer.resources }}
          resources:
            {{- toYaml . | nindent 12 }}
          {{- end }}
          {{- with $V.securityContext }}
          securityContext:
            {{- toYaml . | nindent 12 }}
          {{- end }}
      containers:
        - name: presage
          image: {{ include "presage.image" $root | quote }}
          imagePullPolicy: {{ $V.image.pullPolicy }}
          ports:
            - name: http
              containerPort: 8080
              protocol: TCP
          env:
            - name: QUARKUS_PROFILE
              value: {{ $node.role }}
            - name: PRESAGE_NODE_ID
              value: {{ $node.nodeId | quote }}
            - name: QUARKUS_HTTP_HOST
              value: "0.0.0.0"
            - name: QUARKUS_HTTP_PORT
              value: "8080"
            {{- include "presage.natsUrlEnv" $root | nindent 12 }}
            - name: QUARKUS_DATASOURCE_USERNAME
              value: {{ include "presage.db.username" $root | quote }}
            - name: QUARKUS_DATASOURCE_PASSWORD
              valueFrom:
                secretKeyRef:
                  name: {{ include "presage.db.secretName" $root }}
                  key: {{ include "presage.db.secretKey" $root }}
            {{- $hostPortDb := printf "%s:%s/%s%s" (include "presage.db.host" $root) (include "presage.db.port" $root) $node.database (include "presage.db.urlParams" $root) }}
            - name: QUARKUS_DATASOURCE_JDBC_URL
              value: {{ printf "jdbc:postgresql://%s" $hostPortDb | quote }}
            - name: QUARKUS_DATASOURCE_REACTIVE_URL
              value: {{ printf "postgresql://%s" $hostPortDb | quote }}
            {{- if eq $node.role "mirror" }}
            - name: PRESAGE_MIRROR_COORDINATOR_URL
              value: {{ include "presage.coordinatorUrls" $root | quote }}
            {{- end }}
            {{- if $node.lease }}
            - name: PRESAGE_LEASE_ENABLED
              value: "true"
            - name: PRESAGE_LEASE_TTL
              value: {{ $V.coordinator.leaseTtl | default "5s" | quote }}
            {{- end }}
            {{- with include "presage.javaOptsAppend" (dict "root" $root "node" $node) }}
            - name: JAVA_OPTS_APPEND
              value: {{ . | quote }}
            {{- end }}
            {{- range $k, $v := $node.config }}
            {{- $envName := include "presage.envName" $k }}
            {{- if has $envName $reserved }}
            {{- fail (printf "config key %q (%s) is set by the chart itself; see values.yaml" $k $envName) }}
            {{- end }}
            - name: {{ $envName }}
              value: {{ include "presage.envValue" $v | quote }}
            {{- end }}
            {{- range $e := $node.extraEnv }}
            {{- if has $e.name $reserved }}
            {{- fail (printf "extraEnv %s is set by the chart itself; see values.yaml" $e.name) }}
            {{- end }}
            {{- end }}
            {{- with $node.extraEnv }}
            {{- toYaml . | nindent 12 }}
            {{- end }}
          startupProbe:
            httpGet:
              path: /q/health/started
              port: http
            {{- toYaml $V.probes.startup | nindent 12 }}
          livenessProbe:
            httpGet:
              path: /q/health/live
              port: http
            {{- toYaml $V.probes.liveness | nindent 12 }}
          readinessProbe:
            httpGet:
              path: /q/health/ready
              port: http
            {{- toYaml $V.probes.readiness | nindent 12 }}
          {{- with $node.resources }}
          resources:
            {{- toYaml . | nindent 12 }}
          {{- end }}
          {{- with $V.securityContext }}
          securityContext:
            {{- toYaml . | nindent 12 }}
          {{- end }}
          volumeMounts:
            # The root file system is read-only; the JVM and Vert.x write their temporary files here.
            - name: tmp
              mountPath: /tmp
      volumes:
        - name: tmp
          emptyDir: {}
      {{- with $node.nodeSelector }}
      nodeSelector:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      {{- with $node.affinity }}
      affinity:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      {{- with $node.tolerations }}
      tolerations:
        {{- toYaml . | nindent 8 }}
      {{- end }}
---
apiVersion: v1
kind: Service
metadata:
  name: {{ $node.fullname }}
  labels:
    {{- include "presage.labels" $root | nindent 4 }}
    app.kubernetes.io/component: {{ $node.role }}
    presage.io/node: {{ $node.name }}
  {{- with $node.service.annotations }}
  annotations:
    {{- toYaml . | nindent 4 }}
  {{- end }}
spec:
  type: {{ $node.service.type }}
  selector:
    {{- include "presage.nodeSelectorLabels" (dict "root" $root "node" $node) | nindent 4 }}
  ports:
    - name: http
      port: {{ $node.service.port | int }}
      targetPort: http
      protocol: TCP
{{- end -}}
