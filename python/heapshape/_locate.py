"""Where the native CLI and the shim are, for the console script and the pytest plugin.

Order: an explicit path (HEAPSHAPE_CLI / HEAPSHAPE_PRELOAD; `heapshape run` exports
HEAPSHAPE_CLI into the program it runs), then the copies installed with this package
(heapshape/_native/), then, when this package is imported from a source checkout
(PYTHONPATH=python), the checkout's Bazel build (bazel-bin/). No variable is needed once the
wheel or `pip install ./python` is installed.
"""
import os

CLI_NAME = "heapshape"
SHIM_NAME = "libheapshape.so"
HERE = os.path.dirname(os.path.abspath(__file__))
NATIVE = os.path.join(HERE, "_native")


def _checkout_bin():
    repo = os.path.dirname(os.path.dirname(HERE))
    if os.path.isfile(os.path.join(repo, "preload", "core.c")):
        return os.path.join(repo, "bazel-bin")
    return None


def _candidates(env, name, bazel_rel):
    v = os.environ.get(env)
    if v:
        return [v]  # explicit: only this one, so a wrong value is an error, not a fallback
    out = [os.path.join(NATIVE, name)]
    b = _checkout_bin()
    if b:
        out.append(os.path.join(b, bazel_rel))
    return out


def cli():
    """Absolute path of the native CLI, or None."""
    for c in _candidates("HEAPSHAPE_CLI", CLI_NAME, "analyzer/heapshape"):
        if os.path.isfile(c) and os.access(c, os.X_OK):
            return os.path.realpath(c)
    return None


def shim():
    """Absolute path of libheapshape.so, or None."""
    for c in _candidates("HEAPSHAPE_PRELOAD", SHIM_NAME, "preload/libheapshape.so"):
        if os.path.isfile(c):
            return os.path.realpath(c)
    return None


def not_found(what):
    """One line saying what is missing and what to do."""
    env = "HEAPSHAPE_CLI" if what == CLI_NAME else "HEAPSHAPE_PRELOAD"
    if os.environ.get(env):
        return "%s=%s is not an existing %s; fix or unset it" % (env, os.environ[env], what)
    msg = "%s is not installed with the heapshape package (looked in %s)" % (what, NATIVE)
    if _checkout_bin():
        msg += " nor built in this checkout; build it with `./heapshape --version`"
    else:
        msg += "; reinstall the heapshape wheel (pip install --force-reinstall heapshape-*.whl)"
    return msg
