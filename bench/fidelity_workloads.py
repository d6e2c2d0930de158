"""Standard-library and data-library workloads of the fidelity run (bench/fidelity.py).

Each workload is a pair: setup(tmp) builds its input (files in tmp) before the first snapshot,
run(state) does the work after it and returns what it built, which the driver keeps alive
until the second snapshot. Inputs are generated with a fixed seed, so every run sees the same
data. Standard library only, except numpy and pandas (skipped when they do not import).
"""
import ast
import csv
import json
import os
import random
import sqlite3
import sys
import sysconfig
import xml.etree.ElementTree as ET
from collections import Counter

WORDS = ["alpha", "beta", "gamma", "delta", "epsilon", "zeta", "eta", "theta", "iota", "kappa",
         "lambda", "mu", "nu", "xi", "omicron", "pi", "rho", "sigma", "tau", "upsilon"]


def _rng():
    return random.Random(1234)


# ---------------------------------------------------------------- no work: the start-up difference

def empty_setup(tmp):
    return None


def empty_run(_):
    return None


# ---------------------------------------------------------------- ast.parse of stdlib packages

def ast_parse_setup(tmp):
    lib = sysconfig.get_paths()["stdlib"]
    sources = []
    for pkg in ("email", "json", "asyncio", "http", "logging", "unittest", "xml"):
        for root, _, files in os.walk(os.path.join(lib, pkg)):
            for name in sorted(files):
                if name.endswith(".py"):
                    path = os.path.join(root, name)
                    with open(path, encoding="utf-8") as f:
                        sources.append((path, f.read()))
    return sources


def ast_parse_run(sources):
    return [ast.parse(src, path) for path, src in sources]


# ---------------------------------------------------------------- a 28 MB json.load

def json_load_setup(tmp):
    rng = _rng()
    path = os.path.join(tmp, "data.json")
    records = []
    size = 0
    while size < 28_000_000:
        r = {"id": len(records), "name": rng.choice(WORDS) + str(rng.randrange(10**6)),
             "score": rng.random() * 100, "tags": rng.sample(WORDS, 3),
             "geo": {"lat": rng.uniform(-90, 90), "lon": rng.uniform(-180, 180)}}
        records.append(r)
        size += 160
    with open(path, "w") as f:
        json.dump(records, f)
    return path


def json_load_run(path):
    with open(path) as f:
        return json.load(f)


# ---------------------------------------------------------------- a 20 MB ElementTree

def elementtree_setup(tmp):
    rng = _rng()
    path = os.path.join(tmp, "data.xml")
    with open(path, "w") as f:
        f.write("<catalog>\n")
        n = 0
        while f.tell() < 20_000_000:
            f.write('<item id="%d" kind="%s"><name>%s</name><price>%.2f</price><tags>%s</tags></item>\n'
                    % (n, rng.choice(WORDS), rng.choice(WORDS) + str(n), rng.random() * 1000,
                       " ".join(rng.sample(WORDS, 3))))
            n += 1
        f.write("</catalog>\n")
    return path


def elementtree_run(path):
    return ET.parse(path).getroot()


# ---------------------------------------------------------------- csv.DictReader

def csv_dictreader_setup(tmp):
    rng = _rng()
    path = os.path.join(tmp, "data.csv")
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["id", "city", "zip", "amount", "when", "note"])
        for i in range(150_000):
            w.writerow([i, rng.choice(WORDS).title(), "%05d" % rng.randrange(100000),
                        "%.2f" % (rng.random() * 500), "2026-%02d-%02d" % (rng.randrange(1, 13), rng.randrange(1, 29)),
                        " ".join(rng.sample(WORDS, 2))])
    return path


def csv_dictreader_run(path):
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


# ---------------------------------------------------------------- sqlite3 fetchall

def sqlite_fetchall_setup(tmp):
    rng = _rng()
    path = os.path.join(tmp, "data.db")
    con = sqlite3.connect(path)
    con.execute("create table t (id integer primary key, name text, score real, qty integer)")
    con.executemany("insert into t values (?, ?, ?, ?)",
                    ((i, rng.choice(WORDS) + str(i), rng.random(), rng.randrange(1000)) for i in range(300_000)))
    con.commit()
    con.close()
    return path


def sqlite_fetchall_run(path):
    con = sqlite3.connect(path)
    rows = con.execute("select * from t").fetchall()
    con.close()
    return rows


# ---------------------------------------------------------------- a word Counter

def word_counter_setup(tmp):
    rng = _rng()
    vocab = ["%s%d" % (rng.choice(WORDS), i) for i in range(50_000)]
    weights = [1.0 / (i + 1) for i in range(len(vocab))]
    return " ".join(rng.choices(vocab, weights, k=2_000_000))


def word_counter_run(text):
    counts = Counter(text.split())
    return counts, counts.most_common(2000)


# ---------------------------------------------------------------- numpy, pandas

def numpy_setup(tmp):
    import numpy  # noqa: F401  (imported before the first snapshot)
    return None


def numpy_run(_):
    import numpy as np
    a = np.arange(2_000_000, dtype=np.float64)
    b = a * 2.0
    small = [np.full(16, i, dtype=np.int64) for i in range(50_000)]
    c = np.random.default_rng(1).random((500, 500))
    return a, b, small, c, [float(x) for x in a[:200_000]]


def pandas_setup(tmp):
    import pandas  # noqa: F401
    return None


def pandas_run(_):
    import numpy as np
    import pandas as pd
    rng = np.random.default_rng(1)
    df = pd.DataFrame({"key": rng.integers(0, 1000, 500_000), "x": rng.random(500_000),
                       "name": [WORDS[i % len(WORDS)] for i in range(500_000)]})
    g = df.groupby("key")["x"].mean()
    return df, g, df.to_dict("records")[:50_000]


WORKLOADS = ["empty", "ast_parse", "json_load", "elementtree", "csv_dictreader", "sqlite_fetchall",
             "word_counter", "numpy", "pandas"]


def available(name):
    if name in ("numpy", "pandas"):
        import importlib.util
        return importlib.util.find_spec(name) is not None
    return name in WORKLOADS


def get(name):
    mod = sys.modules[__name__]
    return getattr(mod, name + "_setup"), getattr(mod, name + "_run")
