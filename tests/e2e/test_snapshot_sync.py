"""How a snapshot is published, watched with strace on the shimmed interpreter itself: the
shim writes a temporary file and renames it to the snapshot's name, so a reader never sees a
partial file. HEAPSHAPE_FSYNC=1 adds an fsync of that file before the rename (for snapshots
that must survive a crash of the machine); by default there is none (it cost 1.5-2 ms per
snapshot on this machine, as much as a small program's whole exit snapshot)."""
import os
import re
import subprocess

import hstest

PROGRAM = "keep = [str(i) * 3 for i in range(5000)]\n"


class SnapshotSync(hstest.TestCase):
    def traced(self, py, out, fsync):
        script = os.path.join(self.tmp, "prog.py")
        with open(script, "w") as f:
            f.write(PROGRAM)
        log = os.path.join(self.tmp, "strace-%s.log" % fsync)
        env = hstest.env()
        env.update({"HS_SO": hstest.PRELOAD, "HS_OUT": out, "HS_PY": py, "HS_PROG": script})
        if fsync is not None:
            env["HEAPSHAPE_FSYNC"] = str(fsync)
        else:
            env.pop("HEAPSHAPE_FSYNC", None)
        # HEAPSHAPE_OUTPUT is honoured by the process whose pid is HEAPSHAPE_ROOT_PID
        cmd = ['strace', '-f', '-qq', '-e', 'trace=openat,fsync,fdatasync,rename,renameat,renameat2',
               '-o', log, 'bash', '-c',
               'export HEAPSHAPE_ROOT_PID=$$; exec env LD_PRELOAD="$HS_SO" '
               'HEAPSHAPE_OUTPUT="$HS_OUT" "$HS_PY" "$HS_PROG"']
        subprocess.run(cmd, check=True, env=env, capture_output=True, timeout=300)
        with open(log) as f:
            return f.read()

    def publish_steps(self, trace, out):
        """The syscalls on the snapshot's temporary file, in order: ('open', fd), ('fsync', fd),
        ('rename', fd)."""
        steps, fd = [], None
        # the temporary: DIR/.NAME.PID.hstmp for DIR/NAME.hsnap (hidden, no ".hsnap" in it)
        d, name = os.path.split(out)
        tmp = re.escape(os.path.join(d, "." + name[:-len(".hsnap")])) + r"\.[0-9]+\.hstmp"
        for line in trace.splitlines():
            m = re.search(r'openat\(AT_FDCWD, "%s", [^)]*\) = (\d+)' % tmp, line)
            if m:
                fd = int(m.group(1))
                steps.append(("open", fd))
                continue
            m = re.search(r'\b(fsync|fdatasync)\((\d+)\)', line)
            if m and fd is not None and int(m.group(2)) == fd:
                steps.append(("fsync", fd))
                continue
            if re.search(r'rename(at2?)?\(.*"%s", .*"%s"' % (tmp, re.escape(out)), line):
                steps.append(("rename", fd))
        return steps

    def test_fsync_only_when_asked(self):
        for label, py in hstest.default_interpreters():
            with self.subTest(python=label):
                self.need(label, py)
                for fsync, want in ((None, ["open", "rename"]), (0, ["open", "rename"]),
                                    (1, ["open", "fsync", "rename"])):
                    out = os.path.join(self.tmp, "sync-%s-%s.hsnap" % (label, fsync))
                    steps = self.publish_steps(self.traced(py, out, fsync), out)
                    self.assertEqual([s[0] for s in steps], want, (fsync, steps))
                    # the published file is a whole snapshot with the program's strings in it
                    rows = hstest.stats(out, "--limit", "1000")["statistics"]
                    self.assertGreaterEqual(sum(r["count"] for r in rows), 5000, rows[:3])
