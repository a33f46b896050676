#!/usr/bin/env python3
"""Checks one `helm template` output of the Presage chart (used by check.sh).

    check_rendered.py FILE --mirrors N [--coordinators 1|2] [--nats in-chart|external] [--postgresql in-chart|external]
                      [--secret NAME]... [--env NODE_ID:VAR=VALUE]... [--env-absent NODE_ID:VAR]...
                      [--mirror-names a,b,...]

Exits 1 and says why when the manifests do not describe a working cluster: one coordinator (two, both
with the lease, when a standby is asked for), N mirrors
with distinct node ids and databases, each node wired to NATS, to its own database and (a mirror) to
the coordinator's Service, probes on the health endpoints, Services that select pods, Secrets that exist.
"""
import argparse
import re
import sys
from urllib.parse import urlparse

import yaml

errors = []


def err(msg):
    errors.append(msg)


def env_map(container):
    out = {}
    for e in container.get("env") or []:
        name = e["name"]
        if name in out:
            err(f"container {container['name']}: env {name} is set twice")
        out[name] = e.get("value", e.get("valueFrom"))
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("file")
    ap.add_argument("--mirrors", type=int, required=True)
    ap.add_argument("--coordinators", type=int, default=1, choices=[1, 2], help="2: the coordinator and a standby")
    ap.add_argument("--nats", choices=["in-chart", "external"], default="in-chart")
    ap.add_argument("--postgresql", choices=["in-chart", "external"], default="in-chart")
    ap.add_argument("--secret", action="append", default=[], help="a Secret expected to exist outside the chart")
    ap.add_argument("--env", action="append", default=[], help="NODE_ID:VAR=VALUE expected in that node's container")
    ap.add_argument("--env-absent", action="append", default=[], help="NODE_ID:VAR not expected")
    ap.add_argument("--mirror-names", default=None, help="expected mirror node ids, comma-separated, in order")
    a = ap.parse_args()

    with open(a.file) as f:
        docs = [d for d in yaml.safe_load_all(f) if d]
    if not docs:
        err("no manifests rendered")

    by_kind = {}
    for d in docs:
        for k in ("apiVersion", "kind", "metadata"):
            if k not in d:
                err(f"a document has no {k}: {str(d)[:80]}")
        name = d["metadata"].get("name", "")
        kind = d["kind"]
        if name in by_kind.setdefault(kind, {}):
            err(f"{kind} {name} is rendered twice")
        by_kind[kind][name] = d
        if not re.fullmatch(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?", name) or len(name) > 63:
            err(f"{kind} {name!r} is not a valid object name")
        if kind == "StatefulSet" and len(name) > 52:
            err(f"StatefulSet {name} is longer than 52 characters")

    sts = by_kind.get("StatefulSet", {})
    services = by_kind.get("Service", {})
    secrets = set(by_kind.get("Secret", {})) | set(a.secret)
    configmaps = by_kind.get("ConfigMap", {})

    # Every workload: selector within its pod labels, serviceName a rendered Service, secrets exist.
    pod_labels = {}
    for name, s in sts.items():
        spec = s["spec"]
        labels = spec["template"]["metadata"].get("labels", {})
        sel = spec["selector"]["matchLabels"]
        if any(labels.get(k) != v for k, v in sel.items()):
            err(f"StatefulSet {name}: selector {sel} does not match its pod labels")
        if spec.get("serviceName") not in services:
            err(f"StatefulSet {name}: serviceName {spec.get('serviceName')} is not a rendered Service")
        pod_labels[name] = labels
        pod = spec["template"]["spec"]
        for c in (pod.get("initContainers") or []) + pod["containers"]:
            for e in c.get("env") or []:
                ref = (e.get("valueFrom") or {}).get("secretKeyRef")
                if ref and ref["name"] not in secrets:
                    err(f"StatefulSet {name}/{c['name']}: env {e['name']} reads Secret {ref['name']}, which is neither rendered nor given")
        for v in pod.get("volumes") or []:
            if "configMap" in v and v["configMap"]["name"] not in configmaps:
                err(f"StatefulSet {name}: volume {v['name']} names ConfigMap {v['configMap']['name']}, not rendered")

    # Every Service selects at least one workload's pods.
    for name, svc in services.items():
        sel = svc["spec"].get("selector") or {}
        hits = [w for w, lab in pod_labels.items() if all(lab.get(k) == v for k, v in sel.items())]
        if not sel or not hits:
            err(f"Service {name} selects no pods ({sel})")

    # The Presage nodes.
    nodes = []
    for name, s in sts.items():
        pod = s["spec"]["template"]["spec"]
        cs = [c for c in pod["containers"] if c["name"] == "presage"]
        if not cs:
            continue
        c = cs[0]
        env = env_map(c)
        init = {e["name"]: e.get("value") for e in (pod.get("initContainers") or [{}])[0].get("env") or []}
        nodes.append((name, s, c, env, init))

    coords = [n for n in nodes if n[3].get("QUARKUS_PROFILE") == "coordinator"]
    mirrors = [n for n in nodes if n[3].get("QUARKUS_PROFILE") == "mirror"]
    if len(coords) != a.coordinators:
        err(f"expected {a.coordinators} coordinator(s), found {len(coords)}")
    for name, s, c, env, init in coords:
        lease = env.get("PRESAGE_LEASE_ENABLED")
        if a.coordinators == 2 and (lease != "true" or not env.get("PRESAGE_LEASE_TTL")):
            err(f"{name}: a coordinator beside a standby must run with the lease (PRESAGE_LEASE_ENABLED {lease!r})")
        if a.coordinators == 1 and lease is not None:
            err(f"{name}: the only coordinator runs with the lease ({lease!r}): it would wait for nothing")
    # The active-by-default coordinator first (the Service mirrors are pointed at first).
    coords.sort(key=lambda n: n[0].endswith("-coordinator-standby"))
    if len(mirrors) != a.mirrors:
        err(f"expected {a.mirrors} mirrors, found {len(mirrors)}")
    if len(nodes) != len(coords) + len(mirrors):
        err("a Presage StatefulSet has no QUARKUS_PROFILE coordinator|mirror")

    ids, dbs = {}, {}
    for name, s, c, env, init in nodes:
        if s["spec"].get("replicas") != 1:
            err(f"{name}: replicas is {s['spec'].get('replicas')}, a node must have exactly 1")
        node_id = env.get("PRESAGE_NODE_ID")
        if not node_id or not re.fullmatch(r"[A-Za-z0-9_-]{1,50}", str(node_id)):
            err(f"{name}: bad PRESAGE_NODE_ID {node_id!r}")
        if node_id in ids:
            err(f"{name}: node id {node_id} is also {ids[node_id]}'s")
        ids[node_id] = name
        jdbc, reactive = env.get("QUARKUS_DATASOURCE_JDBC_URL"), env.get("QUARKUS_DATASOURCE_REACTIVE_URL")
        if not (isinstance(jdbc, str) and jdbc.startswith("jdbc:postgresql://")):
            err(f"{name}: bad JDBC URL {jdbc!r}")
            continue
        if not (isinstance(reactive, str) and reactive.startswith("postgresql://")):
            err(f"{name}: bad reactive URL {reactive!r}")
            continue
        j, r = urlparse(jdbc[len("jdbc:"):]), urlparse(reactive)
        if (j.hostname, j.port, j.path, j.query) != (r.hostname, r.port, r.path, r.query):
            err(f"{name}: the JDBC and reactive URLs name different databases: {jdbc} / {reactive}")
        db = j.path.lstrip("/")
        if db in dbs:
            err(f"{name}: database {db} is also {dbs[db]}'s")
        dbs[db] = name
        if init.get("PRESAGE_DATABASE") != db:
            err(f"{name}: the init container prepares {init.get('PRESAGE_DATABASE')!r}, the node uses {db!r}")
        if (init.get("PGHOST"), str(init.get("PGPORT"))) != (j.hostname, str(j.port)):
            err(f"{name}: the init container waits for {init.get('PGHOST')}:{init.get('PGPORT')}, the node uses {j.hostname}:{j.port}")
        for var in ("QUARKUS_DATASOURCE_USERNAME", "QUARKUS_DATASOURCE_PASSWORD", "PRESAGE_NATS_URL"):
            if not env.get(var):
                err(f"{name}: {var} is not set")
        if env.get("QUARKUS_HTTP_HOST") != "0.0.0.0":
            err(f"{name}: QUARKUS_HTTP_HOST must be 0.0.0.0 in a pod (application.properties binds 127.0.0.1)")
        ports = {p["name"]: p["containerPort"] for p in c.get("ports", [])}
        if ports.get("http") != 8080 or str(env.get("QUARKUS_HTTP_PORT")) != "8080":
            err(f"{name}: the http port is not 8080 in both the container and QUARKUS_HTTP_PORT")
        for probe, path in (("startupProbe", "/q/health/started"), ("livenessProbe", "/q/health/live"),
                            ("readinessProbe", "/q/health/ready")):
            got = ((c.get(probe) or {}).get("httpGet") or {})
            if got.get("path") != path or got.get("port") != "http":
                err(f"{name}: {probe} is {got}, expected GET {path} on http")
        if not ((c.get("resources") or {}).get("limits") or {}).get("memory"):
            err(f"{name}: no memory limit (the heap is a share of it)")
        # The node's own Service.
        svc = services.get(name)
        if not svc or not all(pod_labels[name].get(k) == v for k, v in svc["spec"]["selector"].items()):
            err(f"{name}: no Service of its own")
        elif sum(all(lab.get(k) == v for k, v in svc["spec"]["selector"].items()) for lab in pod_labels.values()) != 1:
            err(f"{name}: its Service selects other pods too")

    if coords:
        want = []
        for cname, *_ in coords:
            cport = services.get(cname, {}).get("spec", {}).get("ports", [{}])[0].get("port")
            want.append(("http", cname, cport))
        for name, s, c, env, init in mirrors:
            urls = str(env.get("PRESAGE_MIRROR_COORDINATOR_URL")).split(",")
            got = [(u.scheme, u.hostname, u.port) for u in map(urlparse, urls)]
            if got != want:
                err(f"{name}: PRESAGE_MIRROR_COORDINATOR_URL {env.get('PRESAGE_MIRROR_COORDINATOR_URL')} is not the coordinators' Services {want}")
        for cname, s, c, env, init in coords:
            if "PRESAGE_MIRROR_COORDINATOR_URL" in env:
                err(f"{cname} has PRESAGE_MIRROR_COORDINATOR_URL")

    if a.mirror_names is not None:
        got = [n[3].get("PRESAGE_NODE_ID") for n in mirrors]
        want = [x for x in a.mirror_names.split(",") if x]
        if sorted(got) != sorted(want):
            err(f"mirror node ids {got}, expected {want}")

    # NATS
    nats = [n for n, s in sts.items() if any(c["name"] == "nats" for c in s["spec"]["template"]["spec"]["containers"])]
    if a.nats == "in-chart":
        if len(nats) != 1:
            err(f"expected one in-chart NATS StatefulSet, found {nats}")
        else:
            s = sts[nats[0]]
            args = s["spec"]["template"]["spec"]["containers"][0].get("args", [])
            if "--jetstream" not in args or "--store_dir=/data" not in args:
                err(f"NATS runs without JetStream on /data: {args}")
            if not s["spec"].get("volumeClaimTemplates"):
                err("NATS has no PVC")
            for name, s2, c, env, init in nodes:
                u = urlparse(str(env.get("PRESAGE_NATS_URL")))
                if (u.scheme, u.hostname, u.port) != ("nats", nats[0], 4222) or nats[0] not in services:
                    err(f"{name}: PRESAGE_NATS_URL {env.get('PRESAGE_NATS_URL')} is not the in-chart NATS Service")
    elif nats:
        err(f"NATS is external, but {nats} is rendered")

    # PostgreSQL
    pgs = [n for n, s in sts.items() if any(c["name"] == "postgresql" for c in s["spec"]["template"]["spec"]["containers"])]
    if a.postgresql == "in-chart":
        if len(pgs) != 1:
            err(f"expected one in-chart PostgreSQL StatefulSet, found {pgs}")
        else:
            if not sts[pgs[0]]["spec"].get("volumeClaimTemplates"):
                err("PostgreSQL has no PVC")
            init_sql = "".join(cm.get("data", {}).get("01-presage-databases.sql", "") for cm in configmaps.values())
            for db in dbs:
                if f'CREATE DATABASE "{db}";' not in init_sql:
                    err(f"the PostgreSQL init script does not create {db}")
            for name, s, c, env, init in nodes:
                if urlparse(env["QUARKUS_DATASOURCE_REACTIVE_URL"]).hostname != pgs[0]:
                    err(f"{name}: its database is not on the in-chart PostgreSQL")
    elif pgs:
        err(f"PostgreSQL is external, but {pgs} is rendered")

    by_id = {n[3].get("PRESAGE_NODE_ID"): n for n in nodes}
    for spec in a.env:
        node, _, kv = spec.partition(":")
        var, _, value = kv.partition("=")
        if node not in by_id:
            err(f"--env {spec}: no node {node}")
            continue
        got = by_id[node][3].get(var)
        if isinstance(got, dict):
            got = "secret:" + got["secretKeyRef"]["name"] + "/" + got["secretKeyRef"]["key"]
        if str(got) != value:
            err(f"node {node}: {var} is {got!r}, expected {value!r}")
    for spec in a.env_absent:
        node, _, var = spec.partition(":")
        if node in by_id and var in by_id[node][3]:
            err(f"node {node}: {var} is set, expected absent")

    summary = (f"{len(docs)} manifests; coordinator + {len(mirrors)} mirror(s); node ids {sorted(ids)}; "
               f"databases {sorted(dbs)}; NATS {a.nats}; PostgreSQL {a.postgresql}")
    if errors:
        for e in errors:
            print("  FAIL:", e)
        return 1
    print("  ok:", summary)
    return 0


if __name__ == "__main__":
    sys.exit(main())
