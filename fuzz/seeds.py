#!/usr/bin/env python3
"""Write the seed corpora into fuzz/corpus/<target>/ from the sample world and the peer-test
shapefiles (small files only: the sample world's layers are cut to their first records).

Usage: python3 fuzz/seeds.py [PEER_TESTS_DIR]   (default ../shared/peer-tests next to the repo)
The container format is cadastra_fuzz::split: options byte, presence byte, then each present
section as a little-endian u16 length and its bytes.
"""
import os
import struct
import sys
from pathlib import Path

FUZZ = Path(__file__).resolve().parent
ROOT = FUZZ.parent
PEER = Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT.parent / "shared" / "peer-tests"
MAX = 60000  # keep every seed below u16 sections and libFuzzer's comfortable sizes


def pack(opts, sections):
    present, body = 0, b""
    for i, s in enumerate(sections):
        if s is None:
            continue
        s = s[:65535]
        present |= 1 << i
        body += struct.pack("<H", len(s)) + s
    return bytes([opts, present]) + body


def put(target, name, data):
    d = FUZZ / "corpus" / target
    d.mkdir(parents=True, exist_ok=True)
    (d / name).write_bytes(data)


def companion(shp, ext):
    for e in (ext, ext.upper()):
        p = shp.with_suffix("." + e)
        if p.exists():
            return p.read_bytes()
    return None


def cut_shapefile(shp, k):
    """The first k records of a shapefile set: .shp/.shx rewritten, .dbf cut, lengths fixed."""
    b = shp.read_bytes()
    shx = companion(shp, "shx")
    dbf = companion(shp, "dbf")
    out_shp, out_shx, at = bytearray(b[:100]), bytearray(b[:100]), 100
    n = 0
    while at + 8 <= len(b) and n < k:
        num, clen = struct.unpack(">ii", b[at:at + 8])
        rec = b[at:at + 8 + 2 * clen]
        out_shx += struct.pack(">ii", len(out_shp) // 2, clen)
        out_shp += rec
        at += 8 + 2 * clen
        n += 1
    out_shp[24:28] = struct.pack(">i", len(out_shp) // 2)
    out_shx[24:28] = struct.pack(">i", len(out_shx) // 2)
    out_dbf = None
    if dbf is not None and len(dbf) >= 32:
        hl, rl = struct.unpack("<HH", dbf[8:12])
        out_dbf = bytearray(dbf[:hl + rl * k]) + b"\x1a"
        out_dbf[4:8] = struct.pack("<I", min(k, struct.unpack("<I", dbf[4:8])[0]))
    return bytes(out_shp), bytes(out_shx), (bytes(out_dbf) if out_dbf else None)


def shp_sets():
    """(name, shp, shx, dbf, cpg, prj, cst) of small real and sample shapefile sets."""
    sample = ROOT / "sample-data"
    for rel in ["laiwu/ZD.shp", "laiwu/ZRZ.shp", "gangcheng/ZongDi.shp", "gangcheng/FangWu.shp",
                "gangcheng/fdyt/ZJD.shp"]:
        p = sample / rel
        if p.exists():
            s, x, d = cut_shapefile(p, 3)
            yield ("sample-" + rel.replace("/", "-")[:-4], s, x, d, companion(p, "cpg"),
                   companion(p, "prj"), None)
    root = PEER / "shapefiles"
    if root.is_dir():
        for p in sorted(root.rglob("*")):
            if p.suffix.lower() != ".shp" or p.stat().st_size > MAX:
                continue
            parts = [companion(p, e) for e in ("shx", "dbf", "cpg", "prj", "cst")]
            if sum(len(x or b"") for x in parts) + p.stat().st_size > MAX:
                continue
            name = "peer-" + str(p.relative_to(root)).replace("/", "-").replace(" ", "_")[:-4]
            yield (name, p.read_bytes(), *parts)


def main():
    for name, shp, shx, dbf, cpg, prj, cst in shp_sets():
        put("shp_read", name, pack(0x01, [shp, shx, dbf, cpg, prj, cst]))
        if dbf is not None:
            put("dbf_read", name, pack(0x01, [dbf, cpg, cst]))
    # the encoding target: values one per line, .cpg, .cst, LDID + field name
    gbk = "莱城区 国有建设用地使用权\n张三\n钢城区 宅基地\n370116001002JC00015W00000000".encode("gbk")
    big5 = "萊蕪區 國有土地\n陳大文".encode("big5")
    utf8 = "莱城区 王五\n北京市".encode("utf-8")
    sjis = "東京都 山田".encode("shift_jis")
    for name, body, cpg, cst, ldid in [
        ("gbk-undeclared", gbk, None, None, 0),
        ("gbk-ldid77", gbk, None, None, 0x4D),
        ("gbk-ldid122", gbk, None, None, 0x7A),
        ("gbk-cpg936", gbk, b"936", None, 0),
        ("gbk-cpg-conflict", gbk, b"UTF-8", None, 0x4D),
        ("big5-cpg", big5, b"BIG5", None, 0),
        ("big5-undeclared", big5, None, None, 0),
        ("utf8-cpg", utf8, b"UTF-8\r\n", None, 0),
        ("utf8-cst", utf8, None, b"UTF-8", 0),
        ("sjis-undeclared", sjis, None, None, 0),
        ("html-cpg", gbk, b"<html><body>404</body></html>", None, 0),
        ("latin1-ldid87", "Zürich Genève".encode("latin-1"), None, None, 0x57),
        ("cp866-ldid", "Москва".encode("cp866"), None, None, 0x26),
    ]:
        put("shp_encoding", name, pack(0x01, [body, cpg, cst, bytes([ldid]) + b"QLRMC"]))
    # CSV: the sample world's tables, cut to a few lines, plus hand-made shapes
    for rel in ["laiwu/登记_权利.csv", "gangcheng/QuanLiRen.csv"]:
        p = ROOT / "sample-data" / rel
        if p.exists():
            lines = p.read_bytes().split(b"\n")[:6]
            put("csv_encoding", "sample-" + rel.split("/")[0], bytes([0x01]) + b"\n".join(lines))
    text = "权利人,证件号,份额\r\n张三,11010519491231002X,1/2\r\n\"李,四\",,50%\r\n"
    for name, data in [
        ("gbk", text.encode("gbk")),
        ("utf8-bom", b"\xef\xbb\xbf" + text.encode("utf-8")),
        ("utf16le-bom", b"\xff\xfe" + text.encode("utf-16-le")),
        ("utf16le-nobom", text.encode("utf-16-le")),
        ("big5", "權利人,份額\n陳大文,1\n".encode("big5")),
        ("broken-quote", b'a,b\n"x,y\n1,2\n'),
        ("ragged", b"a,b,c\n1,2\n3,4,5,6\n"),
        ("mac-cr", b"a,b\r1,2\r3,4\r"),
    ]:
        put("csv_encoding", name, bytes([0x01]) + data)
    for p in sorted((ROOT / "pipelines").glob("*.toml")):
        put("pipeline_spec", p.stem, p.read_bytes())
    for name, s in [
        ("unit-ok", "370116001002JC00015W00000000"),
        ("unit-27", "370116001002JC00015W0000000"),
        ("unit-letter", "37011600100AJC00015W00000000"),
        ("unit-fullwidth", "３70116001002JC00015W00000000"),
        ("unit-virtual", "370116000000GB00001F00010001"),
        ("id-ok", "11010519491231002X"),
        ("id-15", "110105491231002"),
        ("id-bad-check", "110105194912310021"),
        ("uscc", "91370100MA3C5XXXXX"),
        ("org", "D2143569-X"),
        ("name", "张三"),
    ]:
        put("ids", name, s.encode("utf-8"))


main()
