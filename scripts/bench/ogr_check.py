#!/usr/bin/env python3
"""What ogr2ogr makes of the first 莱城区 parcel (laiwu/ZD.shp, EPSG:2384 -> EPSG:4548) with the
explicit 7-parameter operation (-ct) and without it (PROJ picks a ballpark: no datum change),
compared with the true CGCS2000 vertices in truth/parcels_cgcs2000.csv. Prints JSON.

    ogr_check.py --world DIR --ct CT.opt
"""
import argparse
import csv
import json
import math
import re
import subprocess


def first_parcel(world, extra):
    out = subprocess.run(
        ["ogr2ogr", "-f", "CSV", "/vsistdout/", f"{world}/laiwu/ZD.shp", "-limit", "1",
         "-s_srs", "EPSG:2384", "-t_srs", "EPSG:4548", "-lco", "GEOMETRY=AS_WKT",
         "-oo", "ENCODING=CP936", "-select", "ZDDM"] + extra,
        check=True, capture_output=True, text=True,
    ).stdout
    rows = list(csv.reader(out.splitlines()))
    wkt, key = rows[1][0], rows[1][1]
    pts = [tuple(map(float, p.split()[:2])) for p in re.findall(r"[-0-9.]+ [-0-9.]+", wkt)]
    return key, pts


def truth(world, key):
    pts = []
    with open(f"{world}/truth/parcels_cgcs2000.csv", newline="") as f:
        r = csv.reader(f)
        next(r)
        for row in r:
            if row[0] == "laiwu" and row[1] == key:
                pts.append((float(row[5]), float(row[6])))
            elif pts:
                break
    return pts


def err(pts, true):
    return max(min(math.dist(p, t) for t in true) for p in pts)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--world", required=True)
    ap.add_argument("--ct", required=True)
    a = ap.parse_args()
    key, with_ct = first_parcel(a.world, ["--optfile", a.ct])
    _, without = first_parcel(a.world, [])
    true = truth(a.world, key)
    print(json.dumps({
        "parcel": key,
        "max_error_m_with_ct": err(with_ct, true),
        "max_error_m_without_ct": err(without, true),
    }))


if __name__ == "__main__":
    main()
