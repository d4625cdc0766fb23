#!/usr/bin/env python3
"""Per-stage tables, ratios and target checks from the measurements of scripts/bench.

    report.py record --parcels N --threads T --measure M.json --summary S.json --run DIR --out R.json
    report.py bench   RESULTS_DIR      (run-w<N>-t<T>.json records of bench.sh)
    report.py compare RESULTS_DIR      (compare.sh)
    report.py ingest  RESULTS_DIR      (ingest.sh)
    report.py reproject RESULTS_DIR    (reproject.sh)
    report.py validate RESULTS_DIR     (validate.sh)
    report.py load    RESULTS_DIR      (load.sh)

Stage times are the run summary's `timings` (cadastra-pipeline run.rs); `joins` and `outputs`
are not timed by the pipeline and are derived (marked ≈): joins end at the newest file in
out/joins/, outputs are what remains of `total`. Peak RSS per stage is the largest sampled
VmRSS inside the stage's window, CPU s the process's CPU seconds (all threads) spent in it; the
run's peak is /usr/bin/time -v's maximum RSS. On a loaded machine wall time > CPU time / threads:
compare CPU seconds too.
Standard library only.
"""
import argparse
import datetime
import glob
import json
import os
import subprocess
import sys

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
PARALLEL = ("ingest+map+reproject", "validate")
T_SCALING = 11.0  # 100k -> 1M, at most
T_THREADS = 1.6  # 1 -> 2 threads on the parallel stages, at least
T_MEM_MB = 1500.0  # peak RSS at 1M parcels, MB (10^6 bytes), at most
T_OGR = 4.0  # whole cadastra pipeline vs ogr2ogr load + reproject, at least
T_GPD = 6.0  # vs the GeoPandas job, at least
T_INGEST_GPD = 8.0  # reader vs geopandas.read_file, at least
T_INGEST_FLOOR = 5.0  # reader vs reading the bytes, at most
T_VALIDATE_GPD = 10.0  # cadastra validate (parcels + buildings) vs the GeoPandas checks, at least
T_LOAD_GPKG = 4.0  # registry load into GeoPackage vs ogr2ogr, at least
T_LOAD_PG = 2.0  # registry load into PostGIS vs ogr2ogr / shp2pgsql, at least
T_VALIDATE_MEM_MB = 2000.0  # validation peak RSS per million parcels, MB, at most


def load(p):
    with open(p) as f:
        return json.load(f)


def epoch(iso):
    return datetime.datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp()


def mib(kb):
    return None if kb is None else kb / 1024.0


def fmt(v, spec=".1f", none="-"):
    return none if v is None else format(v, spec)


def machine():
    mem = "?"
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemTotal:"):
                    mem = f"{int(line.split()[1]) / 1024 / 1024:.1f} GiB RAM"
    except OSError:
        pass
    cpu = "?"
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    commit = os.environ.get("CADASTRA_BENCH_COMMIT")
    if not commit:
        try:
            commit = subprocess.run(["git", "-C", ROOT, "describe", "--always", "--dirty"],
                                    capture_output=True, text=True, check=True).stdout.strip()
        except (OSError, subprocess.CalledProcessError):
            commit = "unknown"
    return f"{os.cpu_count()} CPUs ({cpu}), {mem}; cadastra {commit}"


def load_str(m):
    b, a = m.get("loadavg_before"), m.get("loadavg_after")
    f = lambda x: "/".join(f"{v:.2f}" for v in x) if x else "?"
    return f"load {f(b)} -> {f(a)} (1/5/15 min)"


def check(ok, text):
    return f"  [{'MET ' if ok else 'MISS'}] {text}"


# ---------------------------------------------------------------- record
def peak_in(samples, lo, hi, period=0.15):
    v = [x[1] for x in samples if lo - 1e-9 <= x[0] <= hi + period]
    return max(v) if v else None


def cpu_at(samples, t):
    """CPU seconds used by time t (linear between samples), None without CPU samples."""
    pts = [(x[0], x[2]) for x in samples if len(x) > 2]
    if not pts:
        return None
    if t <= pts[0][0]:
        return pts[0][1] * max(t, 0) / pts[0][0] if pts[0][0] > 0 else pts[0][1]
    for (t0, c0), (t1, c1) in zip(pts, pts[1:]):
        if t0 <= t <= t1:
            return c0 + (c1 - c0) * (t - t0) / (t1 - t0) if t1 > t0 else c1
    return pts[-1][1]


def cpu_in(samples, lo, hi):
    a, b = cpu_at(samples, lo), cpu_at(samples, hi)
    return None if a is None or b is None else round(max(0.0, b - a), 2)


def record(a):
    m, s = load(a.measure), load(a.summary)
    tim = {k: v for k, v in s["timings"]}
    recon = s["reconciliation"]
    parcels = sum(r["read"] for r in recon if r["layer"] == "ZDJBXX")
    buildings = sum(r["read"] for r in recon if r["layer"] == "ZRZ")
    a0 = epoch(s["started_at"]) - m["start_epoch"]
    total = tim.get("total", m["wall_s"])
    ti, tv, tm, tw = (tim.get(k, 0.0) for k in ("ingest+map+reproject", "validate", "merge", "write"))
    joins = sorted(glob.glob(os.path.join(a.run, "out", "joins", "*")))
    j_end = max((os.stat(p).st_mtime for p in joins), default=None)
    j_rel = (j_end - m["start_epoch"]) if j_end else a0 + ti
    j_rel = min(max(j_rel, a0 + ti), a0 + total - tv - tm - tw)
    w = [("ingest+map+reproject", a0, a0 + ti, ti, False),
         ("joins", a0 + ti, j_rel, j_rel - a0 - ti, True),
         ("validate", j_rel, j_rel + tv, tv, False),
         ("merge", j_rel + tv, j_rel + tv + tm, tm, False)]
    end = j_rel + tv + tm
    if "write" in tim:
        w.append(("write", end, end + tw, tw, False))
        end += tw
    w.append(("outputs", end, a0 + total, max(0.0, a0 + total - end), True))
    samples = m.get("samples", [])
    stages = [{"stage": n, "s": round(d, 3), "derived": der, "peak_rss_kb": peak_in(samples, lo, hi),
               "cpu_s": cpu_in(samples, lo, hi)}
              for n, lo, hi, d, der in w]
    rec = {
        "parcels_world": a.parcels,
        "threads": a.threads,
        "parcels": parcels,
        "buildings": buildings,
        "items": parcels + buildings,
        "total_s": total,
        "wall_s": m["wall_s"],
        "cpu_s": round(m.get("user_s", 0) + m.get("sys_s", 0), 2),
        "max_rss_kb": m.get("max_rss_kb", m.get("sampled_hwm_kb")),
        "exit": m["exit"],
        "loadavg_before": m.get("loadavg_before"),
        "loadavg_after": m.get("loadavg_after"),
        "stages": stages,
        "registry_counts": s.get("registry_counts", {}),
        "findings": sum(sum(c.values()) for c in s.get("findings_by_rule", {}).values()),
        "cmd": " ".join(m["cmd"]),
    }
    with open(a.out, "w") as f:
        json.dump(rec, f, indent=1)
    print(f"  {a.parcels} parcels, {a.threads} thread(s): total {total:.1f} s, "
          f"{rec['items'] / total:,.0f} parcels+buildings/s, peak RSS {mib(rec['max_rss_kb']):.0f} MiB",
          file=sys.stderr)


# ---------------------------------------------------------------- bench
def stage_table(recs):
    by_t = {r["threads"]: r for r in recs}
    ts = sorted(by_t)
    hi = max(ts)
    r0 = by_t[hi]
    names = [st["stage"] for st in r0["stages"]]
    head = f"  {'stage':<24}" + "".join(f"{'t=' + str(t) + ' s':>10}" for t in ts)
    if len(ts) > 1:
        head += f"{'speed-up':>10}"
    head += f"{'items/s t=' + str(hi):>16}" + "".join(f"{'CPU s t=' + str(t):>12}" for t in ts)
    head += "".join(f"{'RSS MiB t=' + str(t):>15}" for t in ts)
    lines = [head]
    for name in names:
        row = {t: next((s for s in by_t[t]["stages"] if s["stage"] == name), None) for t in ts}
        label = name + (" (≈)" if row[hi] and row[hi]["derived"] else "")
        line = f"  {label:<24}" + "".join(f"{fmt(row[t]['s'] if row[t] else None, '.2f'):>10}" for t in ts)
        if len(ts) > 1:
            a, b = row[min(ts)], row[hi]
            sp = a["s"] / b["s"] if a and b and b["s"] > 0 else None
            line += f"{fmt(sp, '.2f') + ('x' if sp else ''):>10}"
        sec = row[hi]["s"] if row[hi] else 0
        line += f"{fmt(r0['items'] / sec if sec > 0.05 else None, ',.0f'):>16}"
        line += "".join(f"{fmt(row[t].get('cpu_s') if row[t] else None, '.1f'):>12}" for t in ts)
        line += "".join(f"{fmt(mib(row[t]['peak_rss_kb']) if row[t] else None, '.0f'):>15}" for t in ts)
        lines.append(line)
    line = f"  {'total (run summary)':<24}" + "".join(f"{by_t[t]['total_s']:>10.2f}" for t in ts)
    if len(ts) > 1:
        line += f"{by_t[min(ts)]['total_s'] / by_t[hi]['total_s']:>9.2f}x"
    line += f"{r0['items'] / r0['total_s']:>16,.0f}" + "".join(f"{by_t[t]['cpu_s']:>12.1f}" for t in ts)
    line += "".join(f"{mib(by_t[t]['max_rss_kb']):>15.0f}" for t in ts)
    lines.append(line)
    for t in ts:
        r = by_t[t]
        lines.append(f"  t={t}: process wall {r['wall_s']:.1f} s, CPU {r['cpu_s']:.1f} s, "
                     f"peak RSS {mib(r['max_rss_kb']):.0f} MiB (/usr/bin/time -v), {load_str(r)}, exit {r['exit']}")
    return lines


def bench(a):
    recs = [load(p) for p in sorted(glob.glob(os.path.join(a.dir, "run-w*-t*.json")))]
    if not recs:
        sys.exit(f"no run records in {a.dir}")
    sizes = sorted({r["parcels_world"] for r in recs})
    out = [f"cadastra bench — {machine()}"]
    for n in sizes:
        rs = [r for r in recs if r["parcels_world"] == n]
        r = rs[0]
        out.append("")
        out.append(f"world of {n:,} legacy parcels: {r['parcels']:,} parcels + {r['buildings']:,} buildings read "
                   f"(Jinan's registry included), {r['findings']:,} findings")
        out.append(f"  command: {r['cmd']}")
        out += stage_table(rs)
    out.append("")
    out.append("targets (2 cores):")
    big = max(sizes)
    bt = {r["threads"]: r for r in recs if r["parcels_world"] == big}
    if len(sizes) > 1:
        small = [s for s in sizes if s < big][-1]
        st = {r["threads"]: r for r in recs if r["parcels_world"] == small}
        for t in sorted(set(bt) & set(st)):
            ratio = bt[t]["total_s"] / st[t]["total_s"]
            out.append(check(ratio <= T_SCALING * big / small / 10,
                             f"{small:,} -> {big:,} parcels, {t} thread(s): {ratio:.2f}x the time "
                             f"(target <= {T_SCALING * big / small / 10:.0f}x)"))
    if 1 in bt and 2 in bt:
        for name in PARALLEL:
            s1 = next(s for s in bt[1]["stages"] if s["stage"] == name)["s"]
            s2 = next(s for s in bt[2]["stages"] if s["stage"] == name)["s"]
            sp = s1 / s2 if s2 > 0 else 0
            out.append(check(sp >= T_THREADS, f"{name} at {big:,}: 1 -> 2 threads {sp:.2f}x (target >= {T_THREADS}x)"))
    for t, r in sorted(bt.items()):
        mb = r["max_rss_kb"] * 1024 / 1e6
        per_m = mb / (r["parcels"] / 1e6)
        tgt = f"target <= {T_MEM_MB:.0f} MB at 1M" if big >= 1_000_000 else "target applies at 1M"
        ok = mb <= T_MEM_MB * max(1.0, big / 1e6) if big >= 1_000_000 else True
        per = f" = {per_m:,.0f} MB per million parcels read" if r["parcels"] >= 100_000 else ""
        out.append(check(ok, f"peak RSS at {big:,}, {t} thread(s): {mb:,.0f} MB{per} ({tgt})"))
    print("\n".join(out))
    with open(os.path.join(a.dir, "report.txt"), "w") as f:
        f.write("\n".join(out) + "\n")


# ---------------------------------------------------------------- compare
def compare(a):
    d = a.dir
    cad = load(os.path.join(d, "run-cadastra.json"))
    ogr = [load(p) for p in sorted(glob.glob(os.path.join(d, "measure-ogr2ogr-*.json")))]
    gpm = os.path.join(d, "measure-geopandas.json")
    gp = load(gpm) if os.path.exists(gpm) else None
    gps = load(os.path.join(d, "geopandas.json")) if os.path.exists(os.path.join(d, "geopandas.json")) else None
    ball = os.path.join(d, "ogr2ogr-ballpark.json")
    ball = load(ball) if os.path.exists(ball) else None
    out = [f"cadastra vs ogr2ogr vs GeoPandas — {machine()}", ""]
    out.append(f"world of {cad['parcels_world']:,} legacy parcels")
    out.append(f"  cadastra, whole pipeline (--threads 2): {cad['wall_s']:.1f} s wall, {cad['cpu_s']:.1f} s CPU, "
               f"peak RSS {mib(cad['max_rss_kb']):.0f} MiB; {cad['parcels']:,} parcels + {cad['buildings']:,} "
               f"buildings + the registration tables, validated; {load_str(cad)}")
    stages = ", ".join(f"{s['stage']} {s['s']:.1f}" for s in cad["stages"])
    out.append(f"    stages (s): {stages}")
    ow = sum(m["wall_s"] for m in ogr)
    oc = sum(m.get("user_s", 0) + m.get("sys_s", 0) for m in ogr)
    orss = max((m.get("max_rss_kb", 0) for m in ogr), default=0)
    out.append(f"  ogr2ogr -t_srs EPSG:4548 -ct <7p pipeline>, 4 loads (parcels + buildings of both districts, "
               f"load + reproject only): {ow:.1f} s wall, {oc:.1f} s CPU, peak RSS {mib(orss):.0f} MiB; "
               f"{load_str(ogr[0]) if ogr else ''}")
    for m in ogr:
        out.append(f"    {m['label']}: {m['wall_s']:.1f} s")
    if ball:
        out.append(f"    first 莱城区 parcel vs truth: {ball['max_error_m_with_ct']:.2g} m off with -ct, "
                   f"{ball['max_error_m_without_ct']:.1f} m off without it (PROJ's ballpark: no datum change, no warning)")
    if gp:
        out.append(f"  GeoPandas job: {gp['wall_s']:.1f} s wall (imports included), "
                   f"{gp.get('user_s', 0) + gp.get('sys_s', 0):.1f} s CPU, peak RSS {mib(gp.get('max_rss_kb')):.0f} MiB; "
                   f"{load_str(gp)}, exit {gp['exit']}")
        if gps:
            out.append("    steps (s): " + ", ".join(f"{k} {v:.1f}" for k, v in gps["steps_s"].items()))
            out.append("    " + json.dumps(gps["counts"]))
            out.append("    " + ", ".join(f"{k} {v}" for k, v in gps["versions"].items()))
    else:
        out.append("  GeoPandas job: SKIPPED (no venv: PyPI unreachable?)")
    out.append("")
    out.append("ratios (wall time of the other tool / wall time of the whole cadastra pipeline):")
    r_ogr = ow / cad["wall_s"]
    out.append(check(r_ogr >= T_OGR, f"ogr2ogr load + reproject alone: {r_ogr:.2f}x (target >= {T_OGR:.0f}x)"))
    if gp:
        r_gp = gp["wall_s"] / cad["wall_s"]
        out.append(check(r_gp >= T_GPD and gp["exit"] == 0,
                         f"GeoPandas job: {r_gp:.2f}x (target >= {T_GPD:.0f}x){'' if gp['exit'] == 0 else ' — the job FAILED'}"))
    mb = cad["max_rss_kb"] * 1024 / 1e6
    if cad["parcels_world"] >= 1_000_000:
        out.append(check(mb <= T_MEM_MB, f"cadastra peak RSS {mb:,.0f} MB (target <= {T_MEM_MB:.0f} MB)"))
    print("\n".join(out))
    with open(os.path.join(d, "report.txt"), "w") as f:
        f.write("\n".join(out) + "\n")


# ---------------------------------------------------------------- ingest
def ingest(a):
    d = a.dir
    cr = load(os.path.join(d, "cadastra-read.json"))
    cm = load(os.path.join(d, "measure-cadastra-read.json"))
    gpp = os.path.join(d, "geopandas-read.json")
    gp = load(gpp) if os.path.exists(gpp) else None
    gm = load(os.path.join(d, "measure-geopandas-read.json")) if gp else None
    out = [f"ingest: read parcels + buildings (GBK) — {machine()}", ""]
    files = ", ".join(f"{os.path.basename(f['path'])} {f['rows']:,} rows {f['encoding']}" for f in cr["files"])
    out.append(f"files: {files}; {cr['bytes'] / 1e6:,.0f} MB (.shp + .shx + .dbf), warm page cache, best of {cr['repeat']}")
    fl, rd = cr["floor"]["wall_s"], cr["read"]["wall_s"]
    out.append(f"  floor (read the bytes):                 {fl:8.3f} s  ({cr['bytes'] / 1e6 / fl:,.0f} MB/s)")
    out.append(f"  cadastra read_shapefile, {cr['threads']} threads:      {rd:8.3f} s  (CPU {cr['read']['cpu_s']:.2f} s, "
               f"{cr['rows'] / rd:,.0f} rows/s); runs: " + ", ".join(f"{r['wall_s']:.3f}" for r in cr["read_runs"]))
    out.append(f"    process: peak RSS {mib(cm.get('max_rss_kb')):.0f} MiB, {load_str(cm)}")
    if gp:
        g = gp["read"]["wall_s"]
        out.append(f"  geopandas.read_file (pyogrio, gbk):     {g:8.3f} s  (CPU {gp['read']['cpu_s']:.2f} s, "
                   f"{gp['rows'] / g:,.0f} rows/s); runs: " + ", ".join(f"{r['wall_s']:.3f}" for r in gp["read_runs"]))
        out.append(f"    process: peak RSS {mib(gm.get('max_rss_kb')):.0f} MiB, {load_str(gm)}; "
                   + ", ".join(f"{k} {v}" for k, v in gp["versions"].items()))
    out.append("")
    out.append("targets:")
    if gp:
        out.append(check(g / rd >= T_INGEST_GPD, f"{g / rd:.1f}x faster than geopandas.read_file (target >= {T_INGEST_GPD:.0f}x)"))
    else:
        out.append("  [SKIP] geopandas.read_file (no venv: PyPI unreachable?)")
    out.append(check(rd / fl <= T_INGEST_FLOOR, f"{rd / fl:.1f}x the floor (target <= {T_INGEST_FLOOR:.0f}x)"))
    print("\n".join(out))
    with open(os.path.join(d, "report.txt"), "w") as f:
        f.write("\n".join(out) + "\n")


def reproject(a):
    d = a.dir
    cr = load(os.path.join(d, "cadastra-reproject.json"))
    cm = load(os.path.join(d, "measure-cadastra.json"))
    runs = {m: [] for m in ("reproject", "copy")}
    for f in sorted(os.listdir(d)):
        for m in runs:
            if f.startswith(f"measure-ogr2ogr-{m}-"):
                runs[m].append(load(os.path.join(d, f))["wall_s"])
    ver = open(os.path.join(d, "ogr2ogr-version.txt")).read().strip() if os.path.exists(os.path.join(d, "ogr2ogr-version.txt")) else "ogr2ogr"
    n, feats = cr["coords"], cr["features"]
    out = [f"reprojection: {os.path.basename(os.path.dirname(cr['file']))}/{os.path.basename(cr['file'])} — {machine()}", ""]
    out.append(f"{feats:,} parcels, {n:,} coordinates, {cr['operation']}; warm page cache, best of {cr['repeat']}")
    by_t = {r["threads"]: r for r in cr["runs"]}
    for t, r in sorted(by_t.items()):
        w = r["reproject"]["wall_s"]
        out.append(f"  cadastra reproject, {t} thread{'s' if t > 1 else ' '}:          {w:8.3f} s  "
                   f"{r['coords_per_s'] / 1e6:8.2f} M coords/s  (CPU {r['reproject']['cpu_s']:.2f} s)")
    for t, r in sorted(by_t.items()):
        w = r["read_reproject"]["wall_s"]
        out.append(f"  cadastra read + reproject, {t} thread{'s' if t > 1 else ' '}:   {w:8.3f} s  "
                   f"(CPU {r['read_reproject']['cpu_s']:.2f} s)")
    out.append(f"    process: peak RSS {mib(cm.get('max_rss_kb')):.0f} MiB, {load_str(cm)}")
    og = min(runs["reproject"]) if runs["reproject"] else None
    cp = min(runs["copy"]) if runs["copy"] else None
    if og and cp:
        out.append(f"  {ver}")
        out.append(f"  ogr2ogr -t_srs (read + reproject + write FlatGeobuf): {og:8.3f} s  runs: " + ", ".join(f"{x:.3f}" for x in runs["reproject"]))
        out.append(f"  ogr2ogr copy, no -t_srs (read + write FlatGeobuf):    {cp:8.3f} s  runs: " + ", ".join(f"{x:.3f}" for x in runs["copy"]))
        share = og - cp
        out.append(f"  ogr2ogr's reprojection (difference):                  {share:8.3f} s  "
                   + (f"{n / share / 1e6:8.2f} M coords/s" if share > 0 else "(not measurable)"))
        out.append("")
        out.append("comparison (same file, same operation, same run):")
        for t, r in sorted(by_t.items()):
            if share > 0:
                out.append(f"  reprojection, {t} thread{'s' if t > 1 else ''}: cadastra {r['coords_per_s'] / (n / share):.1f}x ogr2ogr's coordinates per second")
            rr = r["read_reproject"]["wall_s"]
            out.append(f"  read + reproject, {t} thread{'s' if t > 1 else ''}: cadastra {rr:.2f} s vs ogr2ogr -t_srs {og:.2f} s "
                       f"(which also writes; {og / rr:.1f}x)")
        if 1 in by_t and 2 in by_t:
            out.append(f"  1 -> 2 threads: {by_t[1]['reproject']['wall_s'] / by_t[2]['reproject']['wall_s']:.2f}x")
    print("\n".join(out))
    with open(os.path.join(d, "report.txt"), "w") as f:
        f.write("\n".join(out) + "\n")


def validate(a):
    d = a.dir
    runs = {}
    for f in sorted(os.listdir(d)):
        if f.startswith("summary-cadastra-t"):
            t = int(f[len("summary-cadastra-t"):-5])
            runs[t] = (load(os.path.join(d, f)), load(os.path.join(d, f"measure-cadastra-t{t}.json")))
    gpp = os.path.join(d, "geopandas.json")
    gp = load(gpp) if os.path.exists(gpp) else None
    gm = load(os.path.join(d, "measure-geopandas.json")) if gp else None
    out = [f"validation: parcels + buildings of both districts — {machine()}", ""]
    any_s = next(iter(runs.values()))[0]
    recs = {s["name"]: s["records"] for s in any_s["sources"]}
    parcels = sum(v for k, v in recs.items() if k.endswith("_zd"))
    buildings = sum(v for k, v in recs.items() if k.endswith("_zrz"))
    out.append(f"{parcels:,} parcels + {buildings:,} buildings ({', '.join(f'{k} {v:,}' for k, v in recs.items())})")
    for t, (s, m) in sorted(runs.items()):
        tim = dict(s["timings"])
        by = s["findings_by_rule"]
        n_f = sum(c["E"] + c["W"] + c["I"] for c in by.values())
        out.append(f"  cadastra validate, --threads {t}: {m['wall_s']:.2f} s wall, {m.get('user_s', 0) + m.get('sys_s', 0):.1f} s CPU, "
                   f"peak RSS {mib(m.get('max_rss_kb')):.0f} MiB; {n_f:,} findings of {len(by)} rules; {load_str(m)}")
        out.append("    stages (s): " + ", ".join(f"{k} {v:.2f}" for k, v in tim.items()))
    if gp:
        st = gp["steps_s"]
        out.append(f"  GeoPandas checks: {gm['wall_s']:.2f} s wall (imports included), {gm.get('user_s', 0) + gm.get('sys_s', 0):.1f} s CPU, "
                   f"peak RSS {mib(gm.get('max_rss_kb')):.0f} MiB; {load_str(gm)}")
        out.append("    steps (s): " + ", ".join(f"{k} {v:.2f}" for k, v in st.items()))
        out.append("    " + json.dumps(gp["counts"]))
        out.append("    " + ", ".join(f"{k} {v}" for k, v in gp["versions"].items()))
        best = runs[max(runs)]
        by = best[0]["findings_by_rule"]
        tot = lambda r: sum(by.get(r, {}).values()) if r in by else 0
        out.append(f"  same defects: invalid geometries GeoPandas {gp['counts']['invalid']:,} / cadastra GEOM-01 {tot('GEOM-01'):,}; "
                   f"overlap pairs {gp['counts']['overlap_pairs']:,} / TOPO-01 {tot('TOPO-01'):,}; "
                   f"buildings not covered {gp['counts']['buildings_not_covered']:,} / TOPO-04 {tot('TOPO-04'):,}")
    out.append("")
    out.append("targets (issue 5):")
    if gp and runs:
        t = max(runs)
        ratio = gm["wall_s"] / runs[t][1]["wall_s"]
        out.append(check(ratio >= T_VALIDATE_GPD, f"cadastra --threads {t} {ratio:.1f}x faster than the GeoPandas checks (target >= {T_VALIDATE_GPD:.0f}x)"))
    else:
        out.append("  [SKIP] GeoPandas (no venv: PyPI unreachable?)")
    for t, (s, m) in sorted(runs.items()):
        per_m = (m.get("max_rss_kb") or 0) * 1024 / 1e6 / (parcels / 1e6)
        out.append(check(per_m <= T_VALIDATE_MEM_MB, f"peak RSS, --threads {t}: {per_m:,.0f} MB per million parcels (target <= {T_VALIDATE_MEM_MB:,.0f} MB)"))
    print("\n".join(out))
    with open(os.path.join(d, "report.txt"), "w") as f:
        f.write("\n".join(out) + "\n")


def load_bench(a):
    d = a.dir
    cr = load(os.path.join(d, "cadastra-load.json"))
    cm = load(os.path.join(d, "measure-cadastra.json"))
    rows = cr["rows"]
    ph = {p["phase"].split(" (")[0]: p for p in cr["phases"]}
    def tool(prefix):
        ms = [load(os.path.join(d, f)) for f in sorted(os.listdir(d)) if f.startswith(prefix)]
        if not ms:
            return None
        return sum(m["wall_s"] for m in ms), sum(m.get("user_s", 0) + m.get("sys_s", 0) for m in ms), max(mib(m.get("max_rss_kb")) for m in ms)
    ver = open(os.path.join(d, "ogr2ogr-version.txt")).read().strip() if os.path.exists(os.path.join(d, "ogr2ogr-version.txt")) else "ogr2ogr"
    out = [f"registry load: the parcels of both districts — {machine()}", ""]
    out.append(f"{rows:,} parcel rows (" + ", ".join(f"{s['source']} {s['records']:,} records" for s in cr["sources"]) + f"); {ver}")
    rm = ph["read + map"]
    out.append(f"  cadastra read + map (GBK, registry schema, provenance, hash): {rm['wall_s']:7.2f} s  (CPU {rm['cpu_s']:.1f} s)")
    res = {}
    for key, label, prefix, target in (("gpkg", "GeoPackage", "measure-ogr2ogr-gpkg-", T_LOAD_GPKG),
                                       ("pg", "PostGIS", "measure-ogr2ogr-pg-", T_LOAD_PG)):
        w = ph.get("write GeoPackage" if key == "gpkg" else "write PostGIS")
        if not w:
            continue
        total = rm["wall_s"] + w["wall_s"]
        out.append(f"  cadastra -> {label}: write {w['wall_s']:7.2f} s; read + map + write {total:7.2f} s = {rows / total:,.0f} rows/s")
        o = tool(prefix)
        if o:
            out.append(f"  ogr2ogr  -> {label}: {o[0]:7.2f} s = {rows / o[0]:,.0f} rows/s  (CPU {o[1]:.1f} s client, peak RSS {o[2]:.0f} MiB)")
            res[key] = (o[0] / total, target, label, "ogr2ogr")
        if key == "pg":
            s = tool("measure-shp2pgsql-")
            if s:
                out.append(f"  shp2pgsql -D -I | psql -> {label}: {s[0]:7.2f} s = {rows / s[0]:,.0f} rows/s")
                res["shp2pgsql"] = (s[0] / total, target, label, "shp2pgsql")
    out.append(f"    cadastra process: peak RSS {mib(cm.get('max_rss_kb')):.0f} MiB, {load_str(cm)}")
    out.append("")
    out.append("targets (issue 6; same files, same run; cadastra timed from reading the files to the commit):")
    for ratio, target, label, other in res.values():
        out.append(check(ratio >= target, f"into {label}: {ratio:.2f}x faster than {other} (target >= {target:.0f}x)"))
    print("\n".join(out))
    with open(os.path.join(d, "report.txt"), "w") as f:
        f.write("\n".join(out) + "\n")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    r = sub.add_parser("record")
    for k in ("--parcels", "--threads"):
        r.add_argument(k, type=int, required=True)
    for k in ("--measure", "--summary", "--run", "--out"):
        r.add_argument(k, required=True)
    for name in ("bench", "compare", "ingest", "reproject", "validate", "load"):
        sub.add_parser(name).add_argument("dir")
    a = ap.parse_args()
    {"record": record, "bench": bench, "compare": compare, "ingest": ingest, "reproject": reproject, "validate": validate, "load": load_bench}[a.cmd](a)


if __name__ == "__main__":
    main()
