"""heapshape 'records': dict-heavy JSON-like records (nested dicts, lists, strings, numbers),
built, kept, then transformed once into a second representation (ITERATIONS records)."""
from _common import iterations, report

n = iterations(150_000)
kinds = ("order", "refund", "invoice", "note")
records = []
for i in range(n):
    rec = {
        "id": i,
        "kind": kinds[i % 4],
        "customer": {"name": "customer %d" % (i % 5000), "tier": i % 3, "tags": ["a", "b"][: i % 3]},
        "lines": [{"sku": "sku-%d" % ((i + k) % 997), "qty": k + 1, "price": 9.99 + k}
                  for k in range(i % 4 + 1)],
        "total": 0.0,
    }
    rec["total"] = sum(l["qty"] * l["price"] for l in rec["lines"])
    records.append(rec)
by_kind = {}
for rec in records:
    summary = {"id": rec["id"], "who": rec["customer"]["name"], "n": len(rec["lines"]),
               "total": round(rec["total"], 2)}
    by_kind.setdefault(rec["kind"], []).append(summary)
report("records", n, "%d %.2f" % (sum(len(v) for v in by_kind.values()),
                                   sum(s["total"] for v in by_kind.values() for s in v)))
