"""Regenerate the `gdal_sig` entries of peer_shapefiles.toml from GDAL (the reference reader).

Run with Debian's python3-gdal:  /usr/bin/python3 tests/data/gdal_signatures.py
Prints `path = "fnv64:count"` lines. A feature's signature is its 2D geometry shape
(type, rings per polygon, vertex count) plus the bit patterns of the sums of its x and y
coordinates; the dataset signature is the FNV-1a 64 hash of the newline-joined feature
signatures. Shapefiles without .shx are copied to a temporary folder and opened with
SHAPE_RESTORE_SHX=YES, as the manifest's second column.
"""
import os, shutil, struct, tempfile
from osgeo import gdal, ogr

gdal.UseExceptions()
BASE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "../../../../../shared/peer-tests/shapefiles")


def bits(v):
    return struct.unpack("<Q", struct.pack("<d", v))[0]


def coords(g, acc):
    if g.GetGeometryCount() > 0:
        for i in range(g.GetGeometryCount()):
            coords(g.GetGeometryRef(i), acc)
    else:
        for i in range(g.GetPointCount()):
            acc[0] += g.GetX(i)
            acc[1] += g.GetY(i)
            acc[2] += 1


def sig(g):
    if g is None:
        return "null"
    g = g.Clone()
    g.FlattenTo2D()
    t = g.GetGeometryName()
    acc = [0.0, 0.0, 0]
    coords(g, acc)
    if t == "POLYGON":
        s = "Polygon[%d]" % g.GetGeometryCount()
    elif t == "MULTIPOLYGON":
        s = "MultiPolygon[%s]" % ",".join(str(g.GetGeometryRef(i).GetGeometryCount()) for i in range(g.GetGeometryCount()))
    elif t == "LINESTRING":
        s = "LineString"
    elif t == "MULTILINESTRING":
        s = "MultiLineString[%d]" % g.GetGeometryCount()
    elif t == "POINT":
        s = "Point"
    elif t == "MULTIPOINT":
        s = "MultiPoint"
    else:
        s = t
    return "%s:%d@%016x,%016x" % (s, acc[2], bits(acc[0]), bits(acc[1]))


def fnv(text):
    h = 0xcbf29ce484222325
    for b in text.encode():
        h ^= b
        h = (h * 0x100000001b3) & 0xFFFFFFFFFFFFFFFF
    return h


DATASETS = [
    line.split("|")[1].strip().strip("`")
    for line in open(os.path.join(BASE, "MANIFEST.md"), encoding="utf-8")
    if line.startswith("| `")
] + ["../real-coverages/swiss-maps-2024/municipalities.shp"]

for ds in DATASETS:
    if not ds.endswith(".shp"):
        continue
    path = os.path.join(BASE, ds)
    stem = os.path.splitext(path)[0]
    tmp = None
    try:
        if not os.path.exists(stem + ".shx"):
            tmp = tempfile.mkdtemp()
            d = os.path.dirname(path)
            for f in os.listdir(d):
                if f.startswith(os.path.basename(stem) + "."):
                    shutil.copy(os.path.join(d, f), tmp)
            path = os.path.join(tmp, os.path.basename(path))
            gdal.SetConfigOption("SHAPE_RESTORE_SHX", "YES")
        ds_handle = ogr.Open(path)  # keep the dataset alive while its layer is read
        layer = ds_handle.GetLayer(0)
        sigs = [sig(f.GetGeometryRef()) for f in layer]
        del layer, ds_handle
        print('%s = "%016x:%d"' % (ds, fnv("\n".join(sigs)), len(sigs)))
    except Exception as e:  # GDAL refuses: no signature
        print("# %s: GDAL refuses (%s)" % (ds, str(e).splitlines()[0] if str(e) else "no message"))
    finally:
        gdal.SetConfigOption("SHAPE_RESTORE_SHX", None)
        if tmp:
            shutil.rmtree(tmp)
