#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""Counts test cases (TAP subtests, not just binaries) from meson's
testlog.json of one or more build directories and prints
    tests: N passed, N failed
A binary that failed without reporting a failing case (crash, timeout,
sanitizer abort) counts as one more failure."""
import json
import os
import re
import sys

OK = re.compile(r"^ok\b")
NOT_OK = re.compile(r"^not ok\b")
SKIP = re.compile(r"#\s*skip", re.IGNORECASE)


def count(build):
    passed = failed = skipped = 0
    path = os.path.join(build, "meson-logs", "testlog.json")
    if not os.path.exists(path):
        return 0, 1, 0
    with open(path) as f:
        for line in f:
            t = json.loads(line)
            p = fl = s = 0
            for out in (t.get("stdout") or "").splitlines():
                out = out.strip()
                if NOT_OK.match(out):
                    fl += 1
                elif OK.match(out):
                    if SKIP.search(out):
                        s += 1
                    else:
                        p += 1
            result = t.get("result", "")
            if result not in ("OK", "SKIP", "EXPECTEDFAIL") and fl == 0:
                fl = 1
            if p == 0 and fl == 0 and s == 0 and result == "OK":
                p = 1  # a plain (non-TAP) test
            if p == 0 and fl == 0 and s == 0 and result == "SKIP":
                s = 1  # a whole binary skipped ("1..0 # SKIP why", exit 77)
            passed += p
            failed += fl
            skipped += s
    return passed, failed, skipped


def main():
    total = [0, 0, 0]
    args = sys.argv[1:]
    while args:
        b = args.pop(0)
        if b == "--extra":
            # a file with "passed failed [skipped]" (fuzz runs, VM tests)
            path = args.pop(0)
            try:
                nums = [int(x) for x in open(path).read().split()[:3]]
                p, f = nums[0], nums[1]
                s = nums[2] if len(nums) > 2 else 0
            except (OSError, ValueError, IndexError):
                p, f, s = 0, 1, 0
            print(f"{path}: {p} passed, {f} failed, {s} skipped")
            total = [total[0] + p, total[1] + f, total[2] + s]
            continue
        p, f, s = count(b)
        print(f"{b}: {p} passed, {f} failed, {s} skipped")
        total = [total[0] + p, total[1] + f, total[2] + s]
    print(f"tests: {total[0]} passed, {total[1]} failed, {total[2]} skipped")
    return 1 if total[1] else 0


if __name__ == "__main__":
    sys.exit(main())
