"""Where the outside tools of the export and report tests are (tools/setup.sh installs them):
go (go tool pprof), inferno-flamegraph (cargo, cached in /var/cache/heapshape-tools/cargo),
speedscope's JSON schema (npm package speedscope, cached in /var/cache/heapshape-tools/npm),
Debian's chromium. A missing tool is reported by the test as a failure naming the setup step."""
import os
import shutil

TOOLS = os.environ.get("HEAPSHAPE_TOOLS", "/var/cache/heapshape-tools")


def _first(*cands):
    for c in cands:
        if c and os.access(c, os.X_OK):
            return c
    return None


def go():
    return _first(shutil.which("go"), "/usr/local/go/bin/go", "/usr/lib/go/bin/go")


def inferno_flamegraph():
    return _first(os.path.join(TOOLS, "cargo/bin/inferno-flamegraph"),
                  os.path.expanduser("~/.cargo/bin/inferno-flamegraph"),
                  "/root/.cargo/bin/inferno-flamegraph", shutil.which("inferno-flamegraph"))


def speedscope_schema():
    p = os.path.join(TOOLS, "npm/node_modules/speedscope/dist/release/file-format-schema.json")
    return p if os.path.exists(p) else None


def chromium():
    return _first(shutil.which("chromium"), "/usr/bin/chromium")


MISSING = "%s not found: run tools/setup.sh (it installs it)"
