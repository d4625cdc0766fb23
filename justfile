# cadastra's entry points. `just` itself: `pip install rust-just` (seconds) or `cargo install just`.
set shell := ["bash", "-euo", "pipefail", "-c"]
export CARGO_TARGET_DIR := env_var_or_default("CARGO_TARGET_DIR", env_var("HOME") + "/.cache/cadastra/target")

# list recipes
default:
    @just --list

# run the demo: both former-Laiwu districts + Jinan's neighbouring registry into out/registry.gpkg
demo:
    bash scripts/demo.sh

# the whole test suite, as CI runs it
test:
    bash scripts/test.sh

# what CI runs: formatting, clippy, every test
ci: test

# regenerate the committed sample world (sample-data/)
sample:
    cargo run --release -q -p cadastra-cli -- sample --out sample-data --parcels 3000 --seed 2019

# regenerate the JSON Schema of pipeline files
schema:
    cargo run -q -p cadastra-cli -- schema > schemas/pipeline.schema.json

# city-scale benchmark: the whole pipeline on 100k and 1M parcels, 1 and 2 threads (README "Benchmarks")
bench *PARCELS:
    bash scripts/bench/bench.sh {{PARCELS}}

# cadastra vs ogr2ogr (load + reproject) vs a GeoPandas job, on the same files (default 1M parcels)
bench-compare PARCELS="1000000":
    bash scripts/bench/compare.sh {{PARCELS}}

# cadastra's shapefile reader vs geopandas.read_file vs reading the bytes (default 1M parcels)
bench-ingest PARCELS="1000000":
    bash scripts/bench/ingest.sh {{PARCELS}}

# reprojection throughput (coordinates/s, 1 and 2 threads) vs ogr2ogr -t_srs on the same file (default 1M parcels)
bench-reproject PARCELS="1000000":
    bash scripts/bench/reproject.sh {{PARCELS}}

# validation of parcels + buildings (GEOM/TOPO/ATTR...) vs the GeoPandas checks, time and peak RSS (default 1M)
bench-validate PARCELS="1000000":
    bash scripts/bench/validate.sh {{PARCELS}}

# registry load of the parcels into GeoPackage and PostGIS vs ogr2ogr and shp2pgsql (default 1M)
bench-load PARCELS="1000000":
    bash scripts/bench/load.sh {{PARCELS}}

# registry loads: 1M parcel rows into PostGIS (binary COPY) and into GeoPackage vs ogr2ogr -f PostgreSQL
bench-registry ROWS="1000000":
    bash scripts/bench/registry.sh {{ROWS}}

# bench, bench-compare and bench-ingest on a 10k-parcel world, no timing assertions (CI)
bench-small:
    bash scripts/bench/small.sh

# open the registry, an export and their .qgz projects as QGIS 3.22 does (headless) + GDAL's validator
qgis-check *FILES:
    bash scripts/qgis-check.sh {{FILES}}

# fuzz every parser of untrusted input for SECONDS each (default 600); see README "Fuzzing"
fuzz SECONDS="600" *TARGETS:
    bash scripts/fuzz.sh {{SECONDS}} {{TARGETS}}
