"""Headless Chromium (Debian's chromium) for the report tests and the report benchmark: the DOM
after the page's scripts ran (--dump-dom), the console messages Chromium logged, screenshots.
A fresh --user-data-dir each time; no network is touched (the report fetches nothing)."""
import html.parser
import os
import re
import shutil
import subprocess
import tempfile

import report_tools

FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--disable-dev-shm-usage", "--hide-scrollbars", "--enable-logging=stderr", "--v=0"]


def chromium(args, url, timeout=120):
    """Runs chromium with FLAGS + args on url; returns (stdout, console lines, stderr)."""
    exe = report_tools.chromium()
    if not exe:
        raise AssertionError(report_tools.MISSING % "chromium")
    profile = tempfile.mkdtemp(prefix="hs-chromium-")
    try:
        p = subprocess.run([exe] + FLAGS + ["--user-data-dir=" + profile] + args + [url],
                           capture_output=True, text=True, timeout=timeout)
    finally:
        shutil.rmtree(profile, ignore_errors=True)
    console = [l for l in p.stderr.splitlines() if ":CONSOLE" in l]
    if p.returncode != 0:
        raise AssertionError("chromium exited %d\n%s" % (p.returncode, p.stderr[-3000:]))
    return p.stdout, console, p.stderr


def dump_dom(path, fragment=""):
    out, console, _ = chromium(["--virtual-time-budget=10000", "--dump-dom"],
                               "file://" + os.path.abspath(path) + fragment)
    return out, console


def screenshot(path, png, size="1280,2000"):
    chromium(["--screenshot=" + os.path.abspath(png), "--window-size=" + size,
              "--virtual-time-budget=10000"], "file://" + os.path.abspath(path))


def console_errors(console):
    return [l for l in console if re.search(r"ERROR|Uncaught|Error:", l)]


class Node:
    def __init__(self, tag, attrs, parent):
        self.tag, self.attrs, self.parent, self.kids, self.text = tag, dict(attrs), parent, [], ""

    def classes(self):
        return (self.attrs.get("class") or "").split()

    def all_text(self):
        return self.text + "".join(k.all_text() for k in self.kids)

    def walk(self):
        yield self
        for k in self.kids:
            yield from k.walk()

    def find_all(self, tag=None, cls=None, **attrs):
        for n in self.walk():
            if tag and n.tag != tag:
                continue
            if cls and cls not in n.classes():
                continue
            if any(n.attrs.get(k.replace("_", "-")) != v for k, v in attrs.items()):
                continue
            yield n

    def by_id(self, ident):
        return next(self.find_all(id=ident), None)


VOID = {"meta", "link", "br", "img", "input", "hr", "col", "source", "wbr", "area", "base"}


class _Parser(html.parser.HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.root = Node("#root", {}, None)
        self.cur = self.root

    def handle_starttag(self, tag, attrs):
        n = Node(tag, attrs, self.cur)
        self.cur.kids.append(n)
        if tag not in VOID:
            self.cur = n

    def handle_startendtag(self, tag, attrs):
        self.cur.kids.append(Node(tag, attrs, self.cur))

    def handle_endtag(self, tag):
        n = self.cur
        while n is not self.root and n.tag != tag:
            n = n.parent
        if n is not self.root:
            self.cur = n.parent

    def handle_data(self, data):
        self.cur.text += data


def parse(dom):
    p = _Parser()
    p.feed(dom)
    return p.root
