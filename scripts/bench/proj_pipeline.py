#!/usr/bin/env python3
"""Print the explicit PROJ pipeline cadastra-crs builds for a 7-parameter operator file
(sample-data/operator/xian80_to_cgcs2000.toml), from the grid SOURCE_EPSG to the grid of the
file's target (EPSG:4548), for tools that take a pipeline: ogr2ogr -ct, pyproj.

    proj_pipeline.py OPERATOR.toml SOURCE_EPSG [--gdal]

Shape (crates/cadastra-crs docs): inv tmerc (source grid, source ellipsoid) -> cart (source
ellipsoid) -> helmert x y z rx ry rz s convention -> inv cart (target ellipsoid) -> tmerc
(target grid); easting first. The projection steps come from `projinfo EPSG:n -o PROJ`.
--gdal prints it for ogr2ogr: as an --optfile line (-ct "...", so that it stays off command
lines), wrapped in axis swaps, because GDAL hands -ct the coordinates in the CRSs' EPSG axis order
(northing first for these Gauss-Krüger grids), not easting first.
The parameters are secret in real use: write the output to a 0600 file, never to a log.
"""
import subprocess
import sys
import tomllib


def grid(epsg):
    out = subprocess.run(
        ["projinfo", f"EPSG:{epsg}", "-o", "PROJ", "-q"], check=True, capture_output=True, text=True
    ).stdout.split()
    keep = [t for t in out if t.split("=")[0] not in ("+type", "+no_defs", "+units", "+wktext")]
    ell = [t for t in keep if t.split("=")[0] in ("+ellps", "+a", "+b", "+rf", "+R")]
    return " ".join(keep), " ".join(ell)


def main():
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    with open(sys.argv[1], "rb") as f:
        p = tomllib.load(f)
    if p.get("model") != "7p":
        sys.exit(f"{sys.argv[1]}: not a 7-parameter file")
    target = int(str(p["target"]).split(":")[1])
    src, src_ell = grid(int(sys.argv[2]))
    dst, dst_ell = grid(target)
    helmert = (
        f"+proj=helmert +x={p['tx']} +y={p['ty']} +z={p['tz']} +rx={p['rx']} +ry={p['ry']} "
        f"+rz={p['rz']} +s={p['ds']} +convention={p['convention']}"
    )
    steps = [f"+inv {src}", f"+proj=cart {src_ell}", helmert, f"+inv +proj=cart {dst_ell}", dst]
    gdal = "--gdal" in sys.argv[3:]
    if gdal:
        swap = "+proj=axisswap +order=2,1"
        steps = [swap] + steps + [swap]
    pipe = "+proj=pipeline " + " ".join("+step " + s for s in steps)
    if gdal:
        print(f'-ct "{pipe}"')
    else:
        print(pipe)


if __name__ == "__main__":
    main()
