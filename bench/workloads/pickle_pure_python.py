"""pyperformance 'pickle_pure_python': bm_pickle.bench_pickle with the pure-Python pickle module
(the benchmark's --pure-python: _pickle blocked before pickle is imported), ITERATIONS loops.
memray imports the accelerated pickle before the program starts: that module is dropped from
sys.modules so the import below loads pickle.py again without _pickle."""
import sys

sys.modules.pop("pickle", None)
sys.modules["_pickle"] = None
import pickle  # noqa: E402
import types  # noqa: E402
import zlib  # noqa: E402

from _common import iterations, load_pyperformance, report  # noqa: E402

if pickle.Pickler.__module__ != "pickle":
    sys.exit("pickle_pure_python: the C accelerator is still in use")
bm = load_pyperformance("pickle_pure_python", module_dir="bm_pickle")
options = types.SimpleNamespace(protocol=pickle.HIGHEST_PROTOCOL)
n = iterations(60)
bm.bench_pickle(n, pickle, options)
blob = b"".join(pickle.dumps(o, options.protocol) for o in (bm.DICT, bm.TUPLE, bm.DICT_GROUP))
report("pickle_pure_python", n, "%d:%08x" % (len(blob), zlib.crc32(blob)))
