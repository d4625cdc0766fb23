#!/usr/bin/env python3
"""The job a GeoPandas user would write instead of cadastra (`just bench-compare`), on the same
files: read the parcels and buildings of both districts (GBK DBFs, pyogrio) -> reproject to
CGCS2000 / EPSG:4548 with the same explicit 7-parameter pipeline (pyproj) -> is_valid ->
parcel overlaps (STRtree, predicate "overlaps", intersection area above a threshold) ->
buildings covered by their parcel (joined on the parcel code) -> write a GeoPackage.

    geopandas_job.py --world DIR [--out OUT.gpkg] --pipeline-2384 FILE --pipeline-2363 FILE
                     [--min-area 0.01] [--json RESULT.json]

Without --out the job stops after the checks (`just bench-validate`: the validation part only).

The pipelines (proj_pipeline.py output, easting first) are read from files, never from the
command line. Prints step timings; --json writes them with counts and library versions.
Single process, single thread: that is how GeoPandas runs these steps.
"""
import argparse
import json
import os
import sys
import time

T0 = time.perf_counter()
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import geopandas as gpd  # noqa: E402
import pyogrio  # noqa: E402
import pyproj  # noqa: E402
import shapely  # noqa: E402

IMPORT_S = time.perf_counter() - T0

# (district, parcels file, parcel key, buildings file, building's parcel key, source EPSG)
LAYERS = [
    ("laiwu", "laiwu/ZD.shp", "ZDDM", "laiwu/ZRZ.shp", "ZDDM", 2384),
    ("gangcheng", "gangcheng/ZongDi.shp", "ZDBM", "gangcheng/FangWu.shp", "ZDBM", 2363),
]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--world", required=True)
    ap.add_argument("--out", help="the GeoPackage to write (none: checks only, no write step)")
    ap.add_argument("--pipeline-2384", required=True)
    ap.add_argument("--pipeline-2363", required=True)
    ap.add_argument("--min-area", type=float, default=0.01, help="overlap area threshold, m² (cadastra's TOPO-01 default)")
    ap.add_argument("--json")
    a = ap.parse_args()
    pipes = {2384: open(a.pipeline_2384).read().strip(), 2363: open(a.pipeline_2363).read().strip()}
    steps = {"import": IMPORT_S}
    counts = {}

    def step(name, t):
        steps[name] = steps.get(name, 0.0) + time.perf_counter() - t
        print(f"  geopandas {name}: {steps[name]:.2f} s", file=sys.stderr)

    # 1. read
    t = time.perf_counter()
    data = []
    for district, pfile, pkey, bfile, bkey, epsg in LAYERS:
        p = gpd.read_file(os.path.join(a.world, pfile), engine="pyogrio", encoding="gbk")
        b = gpd.read_file(os.path.join(a.world, bfile), engine="pyogrio", encoding="gbk")
        data.append([district, p, pkey, b, bkey, epsg])
    step("read", t)
    counts["parcels"] = int(sum(len(d[1]) for d in data))
    counts["buildings"] = int(sum(len(d[3]) for d in data))

    # 2. reproject: the explicit pipeline on every coordinate (one pyproj call per layer)
    t = time.perf_counter()
    for d in data:
        tr = pyproj.Transformer.from_pipeline(pipes[d[5]])

        def fn(xy, tr=tr):
            x, y = tr.transform(xy[:, 0], xy[:, 1])
            return np.column_stack([x, y])

        for k in (1, 3):
            geoms = shapely.transform(d[k].geometry.values, fn)
            d[k] = gpd.GeoDataFrame(d[k].drop(columns="geometry"), geometry=geoms, crs="EPSG:4548")
    step("reproject", t)

    # 3. validity
    t = time.perf_counter()
    for d in data:
        for k in (1, 3):
            d[k]["is_valid"] = shapely.is_valid(d[k].geometry.values)
    step("is_valid", t)
    counts["invalid"] = int(sum((~d[k]["is_valid"]).sum() for d in data for k in (1, 3)))

    # 4. overlaps between the valid parcels of both districts
    t = time.perf_counter()
    parcels = pd.concat([d[1].assign(district=d[0]) for d in data], ignore_index=True)
    geoms = np.asarray(parcels.geometry.values)
    valid = parcels["is_valid"].to_numpy() & ~shapely.is_empty(geoms) & ~pd.isna(geoms)
    idx = np.flatnonzero(valid)
    vg = geoms[idx]
    tree = shapely.STRtree(vg)
    left, right = tree.query(vg, predicate="overlaps")
    keep = left < right
    left, right = left[keep], right[keep]
    areas = shapely.area(shapely.intersection(vg[left], vg[right]))
    real = areas > a.min_area
    n_over = np.zeros(len(parcels), dtype=np.int32)
    np.add.at(n_over, idx[left[real]], 1)
    np.add.at(n_over, idx[right[real]], 1)
    parcels["n_overlaps"] = n_over
    step("overlaps", t)
    counts["overlap_pairs"] = int(real.sum())
    counts["overlap_candidates"] = int(len(left))

    # 5. buildings covered by their parcel (joined on the parcel code)
    t = time.perf_counter()
    buildings = []
    for district, p, pkey, b, bkey, _ in data:
        pos = pd.Series(np.arange(len(p)), index=p[pkey].to_numpy())
        pos = pos[~pos.index.duplicated(keep="first")]
        at = b[bkey].map(pos)
        has = at.notna().to_numpy()
        covered = np.zeros(len(b), dtype=bool)
        pg = np.asarray(p.geometry.values)
        bg = np.asarray(b.geometry.values)
        sel = np.flatnonzero(has)
        covered[sel] = shapely.covered_by(bg[sel], pg[at.to_numpy()[sel].astype(np.int64)])
        b["has_parcel"] = has
        b["covered"] = covered
        buildings.append(b.assign(district=district))
    buildings = pd.concat(buildings, ignore_index=True)
    step("covered_by", t)
    counts["buildings_not_covered"] = int((buildings["has_parcel"] & ~buildings["covered"]).sum())
    counts["buildings_without_parcel"] = int((~buildings["has_parcel"]).sum())

    # 6. write one GeoPackage, two layers (R-tree indexes as GDAL builds them)
    if a.out:
        t = time.perf_counter()
        if os.path.exists(a.out):
            os.remove(a.out)
        gpd.GeoDataFrame(parcels, geometry="geometry", crs="EPSG:4548").to_file(
            a.out, layer="ZDJBXX", driver="GPKG", engine="pyogrio", promote_to_multi=True
        )
        gpd.GeoDataFrame(buildings, geometry="geometry", crs="EPSG:4548").to_file(
            a.out, layer="ZRZ", driver="GPKG", engine="pyogrio", promote_to_multi=True, append=False
        )
        step("write", t)

    steps["total_after_import"] = sum(v for k, v in steps.items() if k != "import")
    res = {
        "steps_s": steps,
        "counts": counts,
        "versions": {
            "python": sys.version.split()[0],
            "geopandas": gpd.__version__,
            "shapely": shapely.__version__,
            "geos": shapely.geos_version_string,
            "pyogrio": pyogrio.__version__,
            "gdal (pyogrio)": pyogrio.__gdal_version_string__,
            "pyproj": pyproj.__version__,
            "proj (pyproj)": pyproj.proj_version_str,
            "numpy": np.__version__,
            "pandas": pd.__version__,
        },
    }
    if a.json:
        with open(a.json, "w") as f:
            json.dump(res, f, indent=1)
    print(json.dumps(counts), file=sys.stderr)


if __name__ == "__main__":
    main()
