#!/usr/bin/env bash
# Install the Debian packages cadastra needs, only those missing. Safe to run repeatedly.
#   scripts/setup-system.sh            build + demo: GDAL, PROJ, libclang, python3-gdal
#   scripts/setup-system.sh --test     also PostgreSQL 15 + PostGIS 3 for the end-to-end tests (+ shp2pgsql, unzip, python3-venv)
#   scripts/setup-system.sh --browser  Chromium + Noto CJK fonts (the HTML report test)
#   scripts/setup-system.sh --qgis     QGIS 3.22 + PyQGIS (the QGIS check)
set -euo pipefail
pkgs=(libgdal-dev libproj-dev gdal-bin proj-bin pkg-config libclang-dev python3-gdal sqlite3 ca-certificates)
for a in "$@"; do
  case "$a" in
    --test) pkgs+=(postgresql-15 postgresql-15-postgis-3 postgresql-client-15 postgis unzip python3-venv) ;;
    --browser) pkgs+=(chromium fonts-noto-cjk) ;;
    --qgis) pkgs+=(qgis python3-qgis qgis-providers) ;;
  esac
done
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "installing: ${missing[*]}" >&2
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
