"""Python objects and C-library memory at the same lines (tests/e2e/test_domain_python.py):
sqlite3 keeps its page cache in malloc'd memory, which tracemalloc does not trace."""
import sqlite3

con = sqlite3.connect(":memory:")  # CONNECT
con.execute("create table t (id integer, name text, value real)")
values = ((i, "name-%d" % i, i * 0.5) for i in range(60_000))
con.executemany("insert into t values (?, ?, ?)", values)  # INSERT
rows = con.execute("select id, name, value from t").fetchall()  # FETCH
