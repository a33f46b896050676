#!/usr/bin/env python3
# Latency of read-only transactions, with and without an idempotency id, against a running
# coordinator on 127.0.0.1:$PRESAGE_PORT (8080, as ./presage up --mirrors 0 puts it). See BENCHMARKS.md,
# "Read-only transactions".
import http.client, json, os, time, statistics, sys
c = http.client.HTTPConnection("127.0.0.1", int(os.environ.get("PRESAGE_PORT", "8080"), 10))
run_id = "%x" % time.time_ns()  # fresh ids on every invocation: a re-sent id is answered from memory
def req(method, path, body=None):
    c.request(method, path, body=body, headers={"Content-Type": "application/json"})
    r = c.getresponse(); data = r.read(); return r.status, json.loads(data)
st, a = req("PUT", "/v1/kv/rolat-a", "1"); st, b = req("PUT", "/v1/kv/rolat-b", "2")
reads = '"reads":[{"key":"rolat-a","version":%d},{"key":"rolat-b","version":%d}],"writes":[]' % (a["timestamp"], b["timestamp"])
def run(with_id, n, tag):
    lat = []
    for i in range(n):
        body = "{" + ('"id":"rolat-%s-%s-%d",' % (run_id, tag, i) if with_id else "") + reads + "}"
        t = time.perf_counter(); st, out = req("POST", "/v1/transactions", body); lat.append((time.perf_counter() - t) * 1e3)
        assert st == 200, out
    lat.sort(); return statistics.median(lat), lat[int(len(lat) * 0.99)]
st, s0 = req("GET", "/v1/status")
run(False, 2000, "w"); run(True, 2000, "w0")  # warm-up
res = {"none": [], "id": []}
for rnd in range(5):
    res["none"].append(run(False, 2000, "r%d" % rnd)); res["id"].append(run(True, 2000, "r%d" % rnd))
st, s1 = req("GET", "/v1/status")
for k, v in res.items():
    print(k, "p50 ms per round:", [round(x[0], 3) for x in v], "p99:", [round(x[1], 3) for x in v])
print("median of round p50s: no id %.3f ms, with id %.3f ms" % (statistics.median(x[0] for x in res["none"]), statistics.median(x[0] for x in res["id"])))
print("log messages during the measured rounds+warm-up: %d (ids sent: %d)" % (s1["committedSequence"] - s0["committedSequence"], 12000))
