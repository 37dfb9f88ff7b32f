#!/usr/bin/env python3
"""Physical reference: the raw single-row commit rate of SQLite with fsync on.

One INSERT per transaction (autocommit), WAL, synchronous=FULL: the settings `sopflow serve`
uses, in the directory given (the one the server's database lives in, so the same disk).
Runs for --seconds after a short warm-up and prints one JSON line.

  python3 sqlite_commit.py --dir DIR [--seconds 10]
"""
import argparse, json, os, sqlite3, time

ap = argparse.ArgumentParser()
ap.add_argument("--dir", required=True)
ap.add_argument("--seconds", type=float, default=10.0)
a = ap.parse_args()

path = os.path.join(a.dir, "raw-commit.db")
for suffix in ("", "-wal", "-shm"):
    if os.path.exists(path + suffix):
        os.remove(path + suffix)
db = sqlite3.connect(path, isolation_level=None)  # autocommit: each INSERT commits alone
mode = db.execute("PRAGMA journal_mode=WAL").fetchone()[0]
db.execute("PRAGMA synchronous=FULL")
sync = db.execute("PRAGMA synchronous").fetchone()[0]
db.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, payload TEXT NOT NULL)")
# About the size of one stored event row.
payload = "x" * 400

def run(seconds):
    n = 0
    end = time.perf_counter() + seconds
    t0 = time.perf_counter()
    while time.perf_counter() < end:
        db.execute("INSERT INTO t (payload) VALUES (?)", (payload,))
        n += 1
    return n, time.perf_counter() - t0

run(min(1.0, a.seconds / 10))
n, elapsed = run(a.seconds)
db.close()
for suffix in ("", "-wal", "-shm"):
    if os.path.exists(path + suffix):
        os.remove(path + suffix)
print(json.dumps({
    "engine": "sqlite-raw", "version": sqlite3.sqlite_version, "journal_mode": mode,
    "synchronous": {0: "OFF", 1: "NORMAL", 2: "FULL", 3: "EXTRA"}.get(sync, sync),
    "commits": n, "elapsed_s": round(elapsed, 3), "commits_per_s": round(n / elapsed, 1),
}))
