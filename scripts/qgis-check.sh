#!/usr/bin/env bash
# Open GeoPackages and .qgz projects the way QGIS 3.22 does, headless, and fail unless every
# layer opens with the right CRS (EPSG:4548), the feature count the file holds, and cadastra's
# default style loaded from layer_styles (ZDJBXX, ZRZ, findings, finding_areas); a project must
# open every layer through its relative paths, with the EPSG:4548 project CRS and its relations.
# Every GeoPackage must also pass GDAL's validator.
#
#   scripts/qgis-check.sh FILE.gpkg|PROJECT.qgz ...   check these files
#   scripts/qgis-check.sh                             build, run the demo into a temp folder, export a
#                                                     GeoPackage, and check the registry, the export
#                                                     and both projects (what CI runs)
#
# Installs QGIS (scripts/setup-system.sh --qgis) when PyQGIS is missing. Uses Debian's python
# (/usr/bin/python3): PyQGIS and GDAL's Python bindings live there, not in a venv.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
PY=/usr/bin/python3
if ! $PY -c "import qgis.core" 2>/dev/null; then
  bash scripts/setup-system.sh --qgis
fi
tool=""
for t in "${QGIS_OPEN:-}" "$root/../shared/tools/qgis_open.py" /work/shared/tools/qgis_open.py; do
  if [ -n "$t" ] && [ -f "$t" ]; then tool="$t"; break; fi
done
if [ -z "$tool" ]; then
  echo "qgis-check: qgis_open.py not found (set QGIS_OPEN=/path/to/qgis_open.py)" >&2
  exit 2
fi
export QT_QPA_PLATFORM=offscreen

files=("$@")
if [ ${#files[@]} -eq 0 ]; then
  export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/cadastra/target}"
  cargo build -q -p cadastra-cli
  bin="$CARGO_TARGET_DIR/debug/cadastra"
  work="$(mktemp -d)"
  trap 'rm -rf "$work"' EXIT
  cp -r sample-data pipelines "$work/"
  # the local-grid homesteads need their fitted parameters, as the demo does first
  (cd "$work" && "$bin" --quiet crs fit --control sample-data/operator/local_grid_control.csv \
      --model 4p --out out/fdyt_local_grid.toml >/dev/null)
  (cd "$work" && "$bin" --quiet run pipelines/jinan-laiwu.toml --registry out/registry.gpkg --out out >/dev/null)
  (cd "$work" && "$bin" --quiet export --registry out/registry.gpkg --format gpkg --out export/laiwu.gpkg \
      --layer ZDJBXX,ZRZ,H,QLR,findings,finding_areas --district 370116 >/dev/null)
  files=("$work/out/registry.gpkg" "$work/out/registry.qgz" "$work/export/laiwu.gpkg" "$work/export/laiwu.qgz")
fi

status=0
for f in "${files[@]}"; do
  case "$f" in
  *.gpkg)
    echo "== $f"
    if ! $PY -m osgeo_utils.samples.validate_gpkg -k "$f"; then
      echo "FAIL: GDAL's validator rejects $f" >&2
      status=1
    fi
    json="$(mktemp)"
    if ! $PY "$tool" "$f" --json --no-geom-check >"$json"; then
      echo "FAIL: QGIS cannot open every layer of $f" >&2
      status=1
    fi
    $PY - "$f" "$json" <<'EOF' || status=1
import json, sqlite3, sys
path, report = sys.argv[1], json.load(open(sys.argv[2]))
con = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
spatial = {r[0] for r in con.execute("SELECT table_name FROM gpkg_geometry_columns")}
styled = {"ZDJBXX", "ZRZ", "findings", "finding_areas"}
bad = []
for r in report["layers"]:
    name = r["layer"]
    if not r["valid"]:
        bad.append(f"{name}: QGIS cannot open it ({r.get('error')})")
        continue
    n = con.execute(f'SELECT count(*) FROM "{name}"').fetchone()[0]
    if r["feature_count"] != n:
        bad.append(f"{name}: QGIS counts {r['feature_count']} features, the file holds {n}")
    if name in spatial and r["crs_authid"] != "EPSG:4548":
        bad.append(f"{name}: CRS {r['crs_authid']!r}, expected EPSG:4548")
    if name in styled and name in spatial and not r["default_style"].startswith("loaded:cadastra(useAsDefault=1)"):
        bad.append(f"{name}: default style not loaded ({r['default_style']})")
    print(f"  {name:<16} {r['feature_count']:>8}  {r['crs_authid'] or '-':<10} {r.get('renderer_after_style') or '-':<18} {r['default_style']}")
for b in bad:
    print("FAIL: " + b, file=sys.stderr)
sys.exit(1 if bad else 0)
EOF
    rm -f "$json"
    ;;
  *.qgz | *.qgs)
    echo "== $f"
    $PY - "$f" <<'EOF' || status=1
import os, sys, zipfile
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
from qgis.core import QgsApplication, QgsProject
path = os.path.abspath(sys.argv[1])
bad = []
if path.endswith(".qgz"):
    with zipfile.ZipFile(path) as z:
        qgs = [n for n in z.namelist() if n.endswith(".qgs")]
        xml = z.read(qgs[0]).decode("utf-8") if qgs else ""
else:
    xml = open(path, encoding="utf-8").read()
if "<Absolute type=\"bool\">false</Absolute>" not in xml:
    bad.append("paths are not stored relative (Paths/Absolute false)")
if "|layername=" not in xml or ">./" not in xml:
    bad.append("layer sources are not ./relative GeoPackage URIs")
app = QgsApplication([], False)
app.initQgis()
p = QgsProject.instance()
if not p.read(path):
    bad.append(f"QGIS cannot read the project: {p.error()}")
else:
    if p.crs().authid() != "EPSG:4548":
        bad.append(f"project CRS {p.crs().authid()!r}, expected EPSG:4548")
    layers = p.mapLayers().values()
    if not layers:
        bad.append("the project has no layers")
    for l in layers:
        ok = l.isValid()
        print(f"  {l.name():<28} valid={ok} features={l.featureCount() if ok else '-'} crs={l.crs().authid() or '-'}")
        if not ok:
            bad.append(f"layer {l.name()} does not open (source {l.source()})")
    rels = p.relationManager().relations()
    for r in rels.values():
        print(f"  relation {r.name()}: valid={r.isValid()}")
        if not r.isValid():
            bad.append(f"relation {r.name()} is not valid")
    if not rels:
        bad.append("the project defines no relations")
app.exitQgis()
for b in bad:
    print("FAIL: " + b, file=sys.stderr)
sys.exit(1 if bad else 0)
EOF
    ;;
  *)
    echo "qgis-check: $f: not a .gpkg or .qgz" >&2
    status=2
    ;;
  esac
done
if [ $status -eq 0 ]; then echo "qgis-check: ok"; fi
exit $status
