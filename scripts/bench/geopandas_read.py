#!/usr/bin/env python3
"""`geopandas.read_file` (pyogrio engine, encoding="gbk") of the given shapefiles, together,
best wall time of --repeat runs (`just bench-ingest`). Prints JSON (imports are not timed).

    geopandas_read.py [--repeat 3] FILE.shp...
"""
import argparse
import json
import resource
import sys
import time

import geopandas as gpd
import pyogrio


def cpu():
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("files", nargs="+")
    a = ap.parse_args()
    runs, rows = [], 0
    for _ in range(max(1, a.repeat)):
        c, t = cpu(), time.perf_counter()
        frames = [gpd.read_file(f, engine="pyogrio", encoding="gbk") for f in a.files]
        runs.append({"wall_s": time.perf_counter() - t, "cpu_s": cpu() - c})
        rows = sum(len(f) for f in frames)
        sample = str(frames[0].iloc[0].get("ZL", "")) if len(frames[0]) else ""
        del frames
    best = min(runs, key=lambda r: r["wall_s"])
    print(json.dumps({
        "repeat": a.repeat, "rows": rows, "read": best, "read_runs": runs, "sample_ZL": sample,
        "versions": {"geopandas": gpd.__version__, "pyogrio": pyogrio.__version__,
                     "gdal (pyogrio)": pyogrio.__gdal_version_string__},
    }, ensure_ascii=False))


if __name__ == "__main__":
    sys.exit(main())
