#!/usr/bin/env python3
"""Groups ThreadSanitizer reports by the first frame of Warden's code in each racing access.

Debian's QtCore is not built with ThreadSanitizer, so TSan cannot see the happens-before
edges inside it (queued invocations and their slot objects, BlockingQueuedConnection,
QThread::wait): such edges show up as races at the Warden frames that use them. Grouping the
reports by those frames turns hundreds of reports into a short list of places to read.

Usage: tsan-sites.py LOG
"""
import collections
import re
import sys


def main(path):
    text = open(path, errors="replace").read()
    sites = collections.Counter()
    for block in text.split("==================\n"):
        if "WARNING: ThreadSanitizer" not in block:
            continue
        lines = block.splitlines()
        accesses = []
        for i, line in enumerate(lines):
            if not re.match(r"\s+(Previous )?(atomic )?(Read|Write) of size", line):
                continue
            frame = "(QtCore or libc only)"
            for following in lines[i + 1:]:
                if not following.strip().startswith("#"):
                    break
                match = re.search(r"#\d+ (.*?) \S*?/((core|sql|headless|gui|tests)/\S+)", following)
                if match:
                    frame = f"{match.group(1)[:70]} @ {match.group(2)}"
                    break
            accesses.append(frame)
        sites[" || ".join(accesses)] += 1
    for site, count in sites.most_common():
        print(f"{count:5d}  {site}")
    print(f"{sum(sites.values())} reports at {len(sites)} sites")


if __name__ == "__main__":
    main(sys.argv[1])
