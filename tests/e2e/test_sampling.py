"""Sampled mode (--sample-rate BYTES): per-site byte estimates are unbiased and shown with
their uncertainty; on a site of 10 MB or more the estimate is within 5% of the exact figure."""
import os

import hstest

SCRIPT = os.path.join(hstest.PROGRAMS, "sampling.py")


class Sampling(hstest.TestCase):
    def test_estimate_within_five_percent(self):
        py = "/usr/bin/python3.11"
        line = hstest.find_line(SCRIPT, "# BLOBS")
        exact_out = os.path.join(self.tmp, "exact.hsnap")
        hstest.profile([py, SCRIPT], exact_out)
        exact = hstest.line_of(hstest.stats(exact_out, "--limit", "0")["statistics"], SCRIPT, line)
        self.assertGreater(exact["size"], 10_000_000)
        errors = []
        for run in range(3):
            out = os.path.join(self.tmp, "sampled-%d.hsnap" % run)
            # 20 MB in blocks of 16-4000 bytes: at one sample per 16 KiB the standard error is
            # 2.7% of the site (about 1,250 sampled blocks), so "within 5%" would fail ~7% of
            # runs; at 4 KiB it is ~1.1% and 5% is more than 4 standard errors.
            hstest.profile([py, SCRIPT], out, sample_rate=4096)
            est = hstest.line_of(hstest.stats(out, "--limit", "0")["statistics"], SCRIPT, line)
            self.assertIsNotNone(est)
            self.assertIn("size_stderr", est)
            self.assertGreater(est["size_stderr"], 0)
            errors.append((est["size"] - exact["size"]) / exact["size"])
            self.assertLess(abs(errors[-1]), 0.05, "estimate %d vs exact %d" % (est["size"], exact["size"]))
            # the reported uncertainty is of the right order: the error is within 4 standard errors
            self.assertLess(abs(est["size"] - exact["size"]), 4 * est["size_stderr"] + 1)

    def test_text_shows_uncertainty(self):
        out = os.path.join(self.tmp, "s.hsnap")
        hstest.profile(["/usr/bin/python3.11", SCRIPT], out, sample_rate=16384)
        text = hstest.cli("stats", out, "--limit", "3").stdout
        self.assertIn("±", text)
