#!/usr/bin/env python3
"""DuckDB baseline for `scripts/bench-pulse`.

Reads the CSVs that `vane bench pulse --export DIR` writes:
    DIR/exposures.csv   unit,arm,time          (time: epoch ms)
    DIR/events.csv      unit,event,time,value  (event: purchase | visit)
converts them to Parquet (not timed), then times (best of --rounds) DuckDB computing from the
Parquet files what a Pulse refresh needs for the `purchase` metric:
    * first exposure per unit (min time); units exposed to more than one distinct arm are dropped;
    * per unit: count and sum(value) of `purchase` events with time >= the unit's first exposure;
    * per arm: units, sum(count), sum(count^2), sum(count > 0), sum(sum), sum(sum^2).

Prints `duckdb_seconds=X` and one `group=NAME units=N count_sum=.. count_sumsq=.. conv_sum=..
value_sum=.. value_sumsq=..` line per arm (the format `vane bench pulse` prints). With
`--compare-with FILE` (a saved `vane bench pulse` output) it also checks that every group's
aggregates agree to --rel (1e-9) relative and prints `agree=yes|no`; exit status 1 on disagreement.

Usage: bench_pulse_duckdb.py --dir DIR [--arm-names ctl=Control,trt=Test] [--compare-with FILE]
                             [--rounds 3] [--threads N] [--keep-parquet]
"""
import argparse
import os
import re
import sys
import time

import duckdb

FIELDS = ("units", "count_sum", "count_sumsq", "conv_sum", "value_sum", "value_sumsq")

QUERY = """
WITH first_exposure AS (
    SELECT unit, min(arm) AS arm, min(time) AS t0
    FROM read_parquet('{exposures}')
    GROUP BY unit
    HAVING count(DISTINCT arm) = 1
),
per_unit AS (
    SELECT ev.unit, count(*) AS n, sum(ev.value) AS total
    FROM read_parquet('{events}') AS ev
    JOIN first_exposure AS fe ON fe.unit = ev.unit
    WHERE ev.event = 'purchase' AND ev.time >= fe.t0
    GROUP BY ev.unit
)
SELECT fe.arm,
       count(*)                                                  AS units,
       coalesce(sum(pu.n), 0)::BIGINT                            AS count_sum,
       coalesce(sum(pu.n * pu.n), 0)::BIGINT                     AS count_sumsq,
       count(pu.unit)::BIGINT                                    AS conv_sum,
       coalesce(sum(pu.total), 0)::DOUBLE                        AS value_sum,
       coalesce(sum(pu.total * pu.total), 0)::DOUBLE             AS value_sumsq
FROM first_exposure AS fe
LEFT JOIN per_unit AS pu ON pu.unit = fe.unit
GROUP BY fe.arm
ORDER BY fe.arm
"""


def sql_path(p):
    return p.replace("'", "''")


def to_parquet(con, csv_path, parquet_path, columns):
    cols = ", ".join("'%s': '%s'" % kv for kv in columns)
    con.execute("COPY (SELECT * FROM read_csv('%s', header = true, columns = {%s})) TO '%s' (FORMAT parquet)"
                % (sql_path(csv_path), cols, sql_path(parquet_path)))


def parse_groups(text):
    """{group name: {field: number}} from `group=NAME key=value ...` lines."""
    out = {}
    for line in text.splitlines():
        line = line.strip()
        if not line.startswith("group="):
            continue
        kv = dict(re.findall(r"(\w+)=(\S+)", line))
        out[kv["group"]] = {f: float(kv[f]) for f in FIELDS if f in kv}
    return out


def close(a, b, rel):
    return abs(a - b) <= rel * max(abs(a), abs(b)) or a == b


def compare(mine, theirs, rel):
    problems = []
    if set(mine) != set(theirs):
        problems.append("groups differ: duckdb %s, vane %s" % (sorted(mine), sorted(theirs)))
    for g in sorted(set(mine) & set(theirs)):
        for f in FIELDS:
            if f not in theirs[g]:
                problems.append("%s: vane printed no %s" % (g, f))
            elif not close(mine[g][f], theirs[g][f], rel):
                problems.append("%s.%s: duckdb %r, vane %r" % (g, f, mine[g][f], theirs[g][f]))
    return problems


def fmt(x):
    if isinstance(x, float):
        return repr(x)
    return str(x)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--dir", required=True, help="directory holding exposures.csv and events.csv")
    ap.add_argument("--arm-names", default="", help="arm=name pairs, comma separated (e.g. ctl=Control,trt=Test)")
    ap.add_argument("--compare-with", help="a saved `vane bench pulse` output to check the aggregates against")
    ap.add_argument("--rel", type=float, default=1e-9, help="relative tolerance of the comparison")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--threads", type=int, default=0, help="DuckDB threads (default: DuckDB's choice, all cores)")
    ap.add_argument("--keep-parquet", action="store_true")
    args = ap.parse_args(argv)

    names = dict(p.split("=", 1) for p in args.arm_names.split(",") if p)
    exposures_csv = os.path.join(args.dir, "exposures.csv")
    events_csv = os.path.join(args.dir, "events.csv")
    exposures_pq = os.path.join(args.dir, "exposures.parquet")
    events_pq = os.path.join(args.dir, "events.parquet")

    con = duckdb.connect()
    if args.threads:
        con.execute("SET threads = %d" % args.threads)
    threads = con.execute("SELECT current_setting('threads')").fetchone()[0]

    t = time.perf_counter()
    to_parquet(con, exposures_csv, exposures_pq, [("unit", "VARCHAR"), ("arm", "VARCHAR"), ("time", "BIGINT")])
    to_parquet(con, events_csv, events_pq,
               [("unit", "VARCHAR"), ("event", "VARCHAR"), ("time", "BIGINT"), ("value", "DOUBLE")])
    convert = time.perf_counter() - t

    query = QUERY.format(exposures=sql_path(exposures_pq), events=sql_path(events_pq))
    best = float("inf")
    rows = None
    for _ in range(max(1, args.rounds)):
        t = time.perf_counter()
        rows = con.execute(query).fetchall()
        best = min(best, time.perf_counter() - t)

    print("duckdb_version=%s duckdb_threads=%s parquet_conversion_seconds=%.3f" % (duckdb.__version__, threads, convert))
    print("duckdb_seconds=%.6f" % best)
    mine = {}
    for arm, *vals in rows:
        name = names.get(arm, arm)
        mine[name] = dict(zip(FIELDS, (float(v) for v in vals)))
        print("group=%s %s" % (name, " ".join("%s=%s" % (f, fmt(v)) for f, v in zip(FIELDS, vals))))

    if not args.keep_parquet:
        for p in (exposures_pq, events_pq):
            try:
                os.remove(p)
            except OSError:
                pass

    if args.compare_with:
        with open(args.compare_with, encoding="utf-8") as f:
            theirs = parse_groups(f.read())
        problems = compare(mine, theirs, args.rel)
        print("agree=%s" % ("no" if problems else "yes"))
        for p in problems:
            print("  mismatch: " + p)
        return 1 if problems else 0
    return 0


if __name__ == "__main__":
    sys.exit(main())
