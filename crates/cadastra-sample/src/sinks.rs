//! The single writer: turns vendor-neutral [`ZoneOut`]s into each vendor's files, handing out
//! the global numbers (身份证 / USCC, 业务号, certificate numbers) in sub-zone order so that the
//! output does not depend on how many threads built the zones.

use crate::build::{CertKind, RightOut, ZoneOut};
use crate::crs::XIAN80_CM117_ESRI;
use crate::ident::{uscc, Date, IdRegistry};
use crate::plan::Source;
use crate::SampleError;
use cadastra_shp::{write_shapefile, DbfField, WriteSpec};
use geo_types::{Geometry, LineString, Polygon};
use rayon::prelude::*;
use rust_xlsxwriter::{DocProperties, ExcelDateTime, Format, Workbook};
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

/// Excel's last row index: a sheet holds 1 048 575 data rows under its header.
const XLSX_ROWS: u32 = 1_048_575;

fn io_err(path: &Path, e: std::io::Error) -> SampleError {
    SampleError::Io {
        path: path.to_path_buf(),
        source: e,
    }
}

/// GBK encoding with a memo per character: encoding_rs searches its index for every CJK
/// character, the memo makes it a table lookup.
#[derive(Default)]
pub struct Gbk {
    cjk: Vec<[u8; 2]>,
    other: BTreeMap<char, Vec<u8>>,
}

const CJK0: u32 = 0x4E00;
const CJK1: u32 = 0xA000;

impl Gbk {
    /// Append the GBK bytes of `s` to `out`; false if a character has no GBK code.
    pub fn encode(&mut self, s: &str, out: &mut Vec<u8>) -> bool {
        if self.cjk.is_empty() {
            self.cjk = vec![[0, 0]; (CJK1 - CJK0) as usize];
        }
        for c in s.chars() {
            let u = c as u32;
            if u < 0x80 {
                out.push(u as u8);
                continue;
            }
            if (CJK0..CJK1).contains(&u) {
                let slot = &mut self.cjk[(u - CJK0) as usize];
                if slot[0] == 0 {
                    let mut tmp = [0; 4];
                    let (b, _, bad) = encoding_rs::GBK.encode(c.encode_utf8(&mut tmp));
                    if bad || b.len() != 2 {
                        return false;
                    }
                    *slot = [b[0], b[1]];
                }
                out.extend_from_slice(slot);
                continue;
            }
            let b = match self.other.get(&c) {
                Some(b) => b,
                None => {
                    let mut tmp = [0; 4];
                    let (b, _, bad) = encoding_rs::GBK.encode(c.encode_utf8(&mut tmp));
                    if bad {
                        return false;
                    }
                    self.other.entry(c).or_insert(b.into_owned())
                }
            };
            out.extend_from_slice(b);
        }
        true
    }
}

/// A GBK (or UTF-8) text file written line by line.
pub struct TextOut {
    path: PathBuf,
    w: BufWriter<File>,
    gbk: Option<Gbk>,
    buf: Vec<u8>,
    pub lines: u64,
}

impl TextOut {
    pub fn create(path: &Path, gbk: bool, header: &str) -> Result<TextOut, SampleError> {
        let f = File::create(path).map_err(|e| io_err(path, e))?;
        let mut t = TextOut {
            path: path.to_path_buf(),
            w: BufWriter::with_capacity(1 << 20, f),
            gbk: gbk.then(Gbk::default),
            buf: Vec::new(),
            lines: 0,
        };
        t.line(header)?;
        t.lines = 0;
        Ok(t)
    }
    /// Write one record line (CRLF for the GBK vendor files, LF for UTF-8 truth files).
    pub fn line(&mut self, s: &str) -> Result<(), SampleError> {
        self.lines += 1;
        if let Some(g) = self.gbk.as_mut() {
            self.buf.clear();
            if !g.encode(s, &mut self.buf) {
                return Err(SampleError::Encoding {
                    path: self.path.clone(),
                    value: s.to_string(),
                });
            }
            self.buf.extend_from_slice(b"\r\n");
            self.w
                .write_all(&self.buf)
                .map_err(|e| io_err(&self.path, e))
        } else {
            self.w
                .write_all(s.as_bytes())
                .map_err(|e| io_err(&self.path, e))?;
            self.w.write_all(b"\n").map_err(|e| io_err(&self.path, e))
        }
    }
    /// Append pre-encoded lines.
    pub fn raw(&mut self, bytes: &[u8], lines: u64) -> Result<(), SampleError> {
        self.lines += lines;
        self.w.write_all(bytes).map_err(|e| io_err(&self.path, e))
    }
    pub fn finish(mut self) -> Result<u64, SampleError> {
        self.w.flush().map_err(|e| io_err(&self.path, e))?;
        Ok(self.lines)
    }
}

/// Quote a CSV field when needed.
pub fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

fn csv_line(fields: &[String]) -> String {
    fields
        .iter()
        .map(|f| csv_field(f))
        .collect::<Vec<_>>()
        .join(",")
}

/// A cell of an XLSX row.
pub enum Cell {
    Text(String),
    Num(f64),
    Date(Date),
    Empty,
}

/// A worksheet written in constant-memory mode; continues in `<name>_2`, ... past Excel's limit.
struct Sheet {
    name: String,
    header: Vec<&'static str>,
    index: usize,
    part: u32,
    row: u32,
    pub rows: u64,
}

/// One workbook with several sheets.
pub struct Book {
    path: PathBuf,
    /// data rows per sheet before it continues in `<name>_2`
    limit: u32,
    wb: Workbook,
    sheets: Vec<Sheet>,
    date_fmt: Format,
}

fn xerr(path: &Path, e: rust_xlsxwriter::XlsxError) -> SampleError {
    SampleError::Xlsx {
        path: path.to_path_buf(),
        message: e.to_string(),
    }
}

impl Book {
    pub fn new(path: &Path, sheets: &[(&str, &[&'static str])]) -> Result<Book, SampleError> {
        let mut wb = Workbook::new();
        let when = ExcelDateTime::from_ymd(2019, 1, 1).map_err(|e| xerr(path, e))?;
        // level 1: the files are written once and read by machines; deflate dominated the run
        wb.set_zip_compression_level(1);
        wb.set_properties(
            &DocProperties::new()
                .set_creation_datetime(&when)
                .set_author("cadastra sample"),
        );
        let mut b = Book {
            path: path.to_path_buf(),
            limit: XLSX_ROWS,
            wb,
            sheets: Vec::new(),
            date_fmt: Format::new().set_num_format("yyyy-mm-dd"),
        };
        for (name, header) in sheets {
            let index = b.add_sheet(name, header)?;
            b.sheets.push(Sheet {
                name: name.to_string(),
                header: header.to_vec(),
                index,
                part: 1,
                row: 1,
                rows: 0,
            });
        }
        Ok(b)
    }
    fn add_sheet(&mut self, name: &str, header: &[&str]) -> Result<usize, SampleError> {
        let path = self.path.clone();
        let ws = self
            .wb
            .add_worksheet_with_constant_memory()
            .map_err(|e| xerr(&path, e))?;
        ws.set_name(name).map_err(|e| xerr(&path, e))?;
        for (c, h) in header.iter().enumerate() {
            ws.write_string(0, c as u16, *h)
                .map_err(|e| xerr(&path, e))?;
        }
        Ok(self.wb.worksheets().len() - 1)
    }
    /// Append a row to sheet `s`.
    pub fn row(&mut self, s: usize, cells: &[Cell]) -> Result<(), SampleError> {
        if self.sheets[s].row > self.limit {
            let sh = &self.sheets[s];
            let name = format!("{}_{}", sh.name, sh.part + 1);
            let header = sh.header.clone();
            let index = self.add_sheet(&name, &header)?;
            let sh = &mut self.sheets[s];
            sh.part += 1;
            sh.index = index;
            sh.row = 1;
        }
        let path = self.path.clone();
        let (index, row) = (self.sheets[s].index, self.sheets[s].row);
        let fmt = self.date_fmt.clone();
        let ws = self
            .wb
            .worksheet_from_index(index)
            .map_err(|e| xerr(&path, e))?;
        for (c, cell) in cells.iter().enumerate() {
            let c = c as u16;
            match cell {
                Cell::Text(t) => {
                    ws.write_string(row, c, t).map_err(|e| xerr(&path, e))?;
                }
                Cell::Num(v) => {
                    ws.write_number(row, c, *v).map_err(|e| xerr(&path, e))?;
                }
                Cell::Date(d) => {
                    ws.write_number_with_format(row, c, d.excel_serial(), &fmt)
                        .map_err(|e| xerr(&path, e))?;
                }
                Cell::Empty => {}
            }
        }
        self.sheets[s].row += 1;
        self.sheets[s].rows += 1;
        Ok(())
    }
    pub fn rows(&self, s: usize) -> u64 {
        self.sheets[s].rows
    }
    pub fn finish(mut self) -> Result<(), SampleError> {
        let path = self.path.clone();
        self.wb.save(&path).map_err(|e| xerr(&path, e))
    }
}

/// Accumulated shapefile layer (cadastra-shp writes whole layers).
#[derive(Default)]
pub struct ShpLayer {
    pub recs: Vec<Vec<Option<String>>>,
    pub geoms: Vec<Option<Geometry<f64>>>,
}

impl ShpLayer {
    fn push(&mut self, rec: Vec<Option<String>>, ring: &[geo_types::Coord<f64>]) {
        self.recs.push(rec);
        self.geoms.push(Some(Geometry::Polygon(Polygon::new(
            LineString::from(ring.to_vec()),
            vec![],
        ))));
    }
    pub fn write(
        &self,
        path: &Path,
        spec: &WriteSpec,
        fields: &[DbfField],
    ) -> Result<usize, SampleError> {
        write_shapefile(path, spec, fields, &self.recs, &self.geoms).map_err(|e| {
            SampleError::Shapefile {
                path: path.to_path_buf(),
                message: e.to_string(),
            }
        })?;
        Ok(self.recs.len())
    }
}

fn t(s: &str) -> Option<String> {
    Some(s.to_string())
}
fn f2(v: f64) -> Option<String> {
    Some(format!("{v:.2}"))
}

/// Global counters shared by the legacy sources (written one after the other).
pub struct Numbering {
    pub ids: IdRegistry,
    pub next_company: u64,
}

/// Per-source certificate and business-number counters.
#[derive(Default)]
struct Series {
    ywh: u64,
    certs: BTreeMap<(CertKind, i32), u32>,
}

fn ywh_text(src: Source, n: u64, d: Date) -> String {
    match src {
        Source::Gangcheng => format!("GC{}{:06}", d.compact(), n),
        _ => format!("{}{:07}", d.compact(), n),
    }
}

pub(crate) fn cert_key(r: &RightOut) -> (CertKind, i32) {
    if r.cert == CertKind::House {
        (r.cert, 0)
    } else {
        (r.cert, r.djsj.y)
    }
}

pub(crate) fn cert_text(src: Source, r: &RightOut, n: u32) -> String {
    let y = r.djsj.y;
    let (short, city) = match src {
        Source::Laiwu => ("莱城", "莱芜市"),
        Source::Gangcheng => ("钢城", "莱芜市钢城区"),
        Source::Jinan => ("章", "济南市章丘区"),
    };
    match r.cert {
        CertKind::Unified => format!("鲁({y}){city}不动产权第{:07}号", n),
        CertKind::StateLand => format!("{short}国用({y})第{:05}号", n),
        CertKind::CollectiveLand => format!("{short}集用({y})第{:05}号", n),
        CertKind::House => format!("莱房权证{short}字第{:06}号", n),
        CertKind::Farm => format!("{short}农地承包权({y})第{:05}号", n),
        CertKind::Forest => format!("{short}林证字({y})第{:05}号", n),
    }
}

/// Where a sub-zone's numbers and rows start.
struct Bases {
    zd_row: u64,
    zjd_row: u64,
    zrz_row: u64,
    sheet0_row: u64,
    /// 身份证 / USCC of the zone's people
    ids: Vec<String>,
    ywh: u64,
    certs: BTreeMap<(CertKind, i32), u32>,
}

/// A shapefile record and its ring.
type ShpRecord = (Vec<Option<String>>, Vec<geo_types::Coord<f64>>);

/// A sub-zone's records, formatted.
#[derive(Default)]
struct Formatted {
    zd: Vec<ShpRecord>,
    zjd: Vec<ShpRecord>,
    zrz: Vec<ShpRecord>,
    rights_csv: Vec<u8>,
    rights_lines: u64,
    holders_csv: Vec<u8>,
    holders_lines: u64,
    vertices: Vec<u8>,
    vertex_lines: u64,
    people: Vec<u8>,
    people_lines: u64,
    sheet0: Vec<Vec<Cell>>,
    sheet1: Vec<Vec<Cell>>,
    truth: Vec<Truth>,
    tjunctions: Vec<(String, String, String, String)>,
}

thread_local! {
    static GBK: std::cell::RefCell<Gbk> = std::cell::RefCell::new(Gbk::default());
}

/// Append `line` in GBK plus CRLF.
fn gbk_line(line: &str, out: &mut Vec<u8>) -> Result<(), SampleError> {
    let ok = GBK.with(|g| g.borrow_mut().encode(line, out));
    if !ok {
        return Err(SampleError::Encoding {
            path: PathBuf::from("(csv line)"),
            value: line.to_string(),
        });
    }
    out.extend_from_slice(b"\r\n");
    Ok(())
}

/// Ground-truth row as written.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Truth {
    pub rule: &'static str,
    pub layer: &'static str,
    pub feature_key: String,
    pub other_key: String,
    pub source: &'static str,
    pub note: String,
}

/// Files shared by all sources.
pub struct Shared {
    pub truth: Vec<Truth>,
    pub vertices: TextOut,
    pub people: TextOut,
    pub tjunctions: Vec<(String, String, String, String)>,
}

/// The writer of one legacy source.
pub struct SourceSink {
    src: Source,
    dir: PathBuf,
    zd: ShpLayer,
    zrz: ShpLayer,
    zjd: ShpLayer,
    rights_csv: Option<TextOut>,
    holders_csv: Option<TextOut>,
    book: Book,
    series: Series,
    zd_rows: u64,
    zjd_rows: u64,
    zrz_rows: u64,
    sheet0_rows: u64,
}

const LAIWU_RIGHTS: &str = "YWH,BDCDYH,QLLX,DJLX,DJYY,QLXZ,SYQMJ,QSSJ,JSSJ,BDCQZH,DJSJ,DBR,QSZT,FDZL,FWJG,GHYT,JZMJ,SZC,ZCS";
const LAIWU_HOLDERS: &[&str] = &[
    "BDCDYH", "SXH", "QLRMC", "ZJZL", "ZJH", "GYFS", "QLBL", "DH", "DZ", "BDCQZH",
];
const LAIWU_UNITS: &[&str] = &[
    "BDCDYH", "ZRZH", "CH", "HH", "SHBW", "FWYT", "SCJZMJ", "SCTNJZMJ", "SCFTJZMJ", "ZL",
];
const GANG_RIGHTS: &[&str] = &[
    "YWBH", "DYH", "QLLX", "DJLX", "DJYY", "QLXZ", "MJ", "MJDW", "QSRQ", "ZZRQ", "ZSH", "DJRQ",
    "DBR", "ZT", "FWJG", "YT", "JZMJ", "SZC", "ZCS",
];
const GANG_UNITS: &[&str] = &[
    "DYH", "ZH", "CH", "HH", "SH", "YT", "JZMJ", "TNMJ", "FTMJ", "ZUOLUO",
];
const GANG_HOLDERS: &str = "DYH,XH,XM,ZJLX,ZJHM,GYFS,FE,DH,DZ,ZSH";

/// DBF fields of 莱城区 ZD.
pub fn laiwu_zd_fields() -> Vec<DbfField> {
    vec![
        DbfField::text("ZDDM", 24),
        DbfField::text("BDCDYH", 32),
        DbfField::text("ZDTZM", 2),
        DbfField::text("ZL", 100),
        DbfField::number("ZDMJ", 15, 2),
        DbfField::text("MJDW", 2),
        DbfField::text("YT", 3),
        DbfField::text("QLLX", 2),
        DbfField::text("QLXZ", 4),
        DbfField::text("DJH", 20),
        DbfField::text("TFH", 20),
        DbfField::text("DJZQDM", 12),
    ]
}

/// DBF fields of 莱城区 ZRZ.
pub fn laiwu_zrz_fields() -> Vec<DbfField> {
    vec![
        DbfField::text("ZRZH", 24),
        DbfField::text("ZDDM", 19),
        DbfField::text("JZWMC", 60),
        DbfField::text("ZL", 100),
        DbfField::number("ZCS", 3, 0),
        DbfField::text("FWJG", 2),
        DbfField::text("GHYT", 3),
        DbfField::date("JGRQ"),
        DbfField::number("ZZDMJ", 12, 2),
        DbfField::number("SCJZMJ", 12, 2),
    ]
}

/// DBF fields of 钢城区 ZongDi (and, without MJDW/YDJH/ZQDM, fdyt/ZJD).
pub fn gang_zd_fields(zjd: bool) -> Vec<DbfField> {
    let mut v = vec![
        DbfField::text("ZDBM", 24),
        DbfField::text("DYH", 32),
        DbfField::text("TZM", 2),
        DbfField::text("ZUOLUO", 100),
        DbfField::number("MJ", 15, 6),
        DbfField::text("MJDW", 6),
        DbfField::text("YT", 4),
        DbfField::text("QLLX", 2),
        DbfField::text("QLXZ", 4),
        DbfField::text("YDJH", 20),
        DbfField::text("ZQDM", 12),
    ];
    if zjd {
        v.retain(|f| !matches!(f.name.as_str(), "MJDW" | "YDJH" | "ZQDM"));
    }
    v
}

/// DBF fields of 钢城区 FangWu.
pub fn gang_zrz_fields() -> Vec<DbfField> {
    vec![
        DbfField::text("ZH", 24),
        DbfField::text("ZDBM", 19),
        DbfField::text("JZMC", 60),
        DbfField::text("ZUOLUO", 100),
        DbfField::number("CS", 3, 0),
        DbfField::text("JG", 2),
        DbfField::text("YT", 3),
        DbfField::text("JGRQ", 20),
        DbfField::number("ZDMJ", 12, 2),
        DbfField::number("JZMJ", 12, 2),
    ]
}

/// Mixed legacy date text of vendor B, chosen by a stable hash of the row.
fn mixed_date(d: Date, k: u64) -> String {
    match k.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 62 {
        0 | 1 => d.compact(),
        2 => d.chinese(),
        _ => d.loose(),
    }
}

fn mixed_cell(d: Option<Date>, k: u64) -> Cell {
    match d {
        None => Cell::Empty,
        Some(d) => match k.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 62 {
            0 => Cell::Text(d.compact()),
            1 => Cell::Text(d.chinese()),
            _ => Cell::Date(d),
        },
    }
}

fn opt_iso(d: Option<Date>) -> String {
    d.map(Date::iso).unwrap_or_default()
}

fn fmt_num(v: f64) -> String {
    let s = format!("{v:.2}");
    s.strip_suffix(".00").map(str::to_string).unwrap_or(s)
}

impl SourceSink {
    pub fn new(src: Source, out: &Path) -> Result<SourceSink, SampleError> {
        let dir = out.join(src.name());
        std::fs::create_dir_all(&dir).map_err(|e| io_err(&dir, e))?;
        let (rights_csv, holders_csv, book) = match src {
            Source::Laiwu => (
                Some(TextOut::create(
                    &dir.join("登记_权利.csv"),
                    true,
                    LAIWU_RIGHTS,
                )?),
                None,
                Book::new(
                    &dir.join("登记_权利人.xlsx"),
                    &[("权利人", LAIWU_HOLDERS), ("户", LAIWU_UNITS)],
                )?,
            ),
            _ => {
                let fd = dir.join("fdyt");
                std::fs::create_dir_all(&fd).map_err(|e| io_err(&fd, e))?;
                (
                    None,
                    Some(TextOut::create(
                        &dir.join("QuanLiRen.csv"),
                        true,
                        GANG_HOLDERS,
                    )?),
                    Book::new(
                        &dir.join("QuanLi.xlsx"),
                        &[("QuanLi", GANG_RIGHTS), ("Hu", GANG_UNITS)],
                    )?,
                )
            }
        };
        Ok(SourceSink {
            src,
            dir,
            zd: ShpLayer::default(),
            zrz: ShpLayer::default(),
            zjd: ShpLayer::default(),
            rights_csv,
            holders_csv,
            book,
            series: Series::default(),
            zd_rows: 0,
            zjd_rows: 0,
            zrz_rows: 0,
            sheet0_rows: 0,
        })
    }

    /// Write a batch of built sub-zones (in plan order): numbers are handed out sequentially,
    /// the records are formatted in parallel, then appended in order.
    pub fn write_batch(
        &mut self,
        zones: Vec<(ZoneOut, bool)>,
        num: &mut Numbering,
        shared: &mut Shared,
    ) -> Result<(), SampleError> {
        let mut bases = Vec::with_capacity(zones.len());
        for (z, zjd) in &zones {
            // identifiers in plan order: 身份证 by birth day, USCC by company number
            let mut ids = Vec::with_capacity(z.persons.len());
            for p in &z.persons {
                if p.company {
                    ids.push(uscc(num.next_company, p.region));
                    num.next_company += 1;
                } else {
                    let id = num
                        .ids
                        .id_card(p.region, p.birth, p.male, p.bad_check)
                        .ok_or_else(|| {
                            SampleError::Options(format!(
                                "too many people born on {}",
                                p.birth.iso()
                            ))
                        })?;
                    ids.push(id);
                }
            }
            let b = Bases {
                zd_row: self.zd_rows,
                zjd_row: self.zjd_rows,
                zrz_row: self.zrz_rows,
                sheet0_row: self.sheet0_rows,
                ids,
                ywh: self.series.ywh,
                certs: self.series.certs.clone(),
            };
            if *zjd {
                self.zjd_rows += z.parcels.len() as u64;
            } else {
                self.zd_rows += z.parcels.len() as u64;
                self.zrz_rows += z.buildings.len() as u64;
            }
            self.series.ywh += z.rights.len() as u64;
            for r in &z.rights {
                *self.series.certs.entry(cert_key(r)).or_insert(0) += 1;
            }
            self.sheet0_rows += if self.src == Source::Laiwu {
                z.rights.iter().map(|r| r.holders.len() as u64).sum::<u64>()
            } else {
                z.rights.len() as u64
            };
            bases.push(b);
        }
        let src = self.src;
        let formatted: Vec<Result<Formatted, SampleError>> = zones
            .par_iter()
            .zip(bases.par_iter())
            .map(|((z, zjd), b)| format_zone(src, z, *zjd, b))
            .collect();
        for f in formatted {
            let f = f?;
            for (rec, ring) in f.zd {
                self.zd.push(rec, &ring);
            }
            for (rec, ring) in f.zjd {
                self.zjd.push(rec, &ring);
            }
            for (rec, ring) in f.zrz {
                self.zrz.push(rec, &ring);
            }
            if let Some(c) = self.rights_csv.as_mut() {
                c.raw(&f.rights_csv, f.rights_lines)?;
            }
            if let Some(c) = self.holders_csv.as_mut() {
                c.raw(&f.holders_csv, f.holders_lines)?;
            }
            shared.vertices.raw(&f.vertices, f.vertex_lines)?;
            shared.people.raw(&f.people, f.people_lines)?;
            for row in &f.sheet0 {
                self.book.row(0, row)?;
            }
            for row in &f.sheet1 {
                self.book.row(1, row)?;
            }
            shared.truth.extend(f.truth);
            shared.tjunctions.extend(f.tjunctions);
        }
        Ok(())
    }

    /// Write the shapefiles and close every file; returns counts per file/layer.
    pub fn finish(mut self) -> Result<BTreeMap<String, u64>, SampleError> {
        let name = self.src.name();
        let mut c = BTreeMap::new();
        if self.src == Source::Laiwu {
            let spec = WriteSpec {
                prj: Some(XIAN80_CM117_ESRI.to_string()),
                ..WriteSpec::gbk_undeclared()
            };
            c.insert(
                format!("{name}/ZD.shp"),
                self.zd
                    .write(&self.dir.join("ZD.shp"), &spec, &laiwu_zd_fields())?
                    as u64,
            );
            c.insert(
                format!("{name}/ZRZ.shp"),
                self.zrz
                    .write(&self.dir.join("ZRZ.shp"), &spec, &laiwu_zrz_fields())?
                    as u64,
            );
            c.insert(format!("{name}/登记_权利人.xlsx#权利人"), self.book.rows(0));
            c.insert(format!("{name}/登记_权利人.xlsx#户"), self.book.rows(1));
            if let Some(r) = self.rights_csv.take() {
                c.insert(format!("{name}/登记_权利.csv"), r.finish()?);
            }
        } else {
            let spec = WriteSpec::gbk_ldid();
            c.insert(
                format!("{name}/ZongDi.shp"),
                self.zd
                    .write(&self.dir.join("ZongDi.shp"), &spec, &gang_zd_fields(false))?
                    as u64,
            );
            c.insert(
                format!("{name}/FangWu.shp"),
                self.zrz
                    .write(&self.dir.join("FangWu.shp"), &spec, &gang_zrz_fields())?
                    as u64,
            );
            c.insert(
                format!("{name}/fdyt/ZJD.shp"),
                self.zjd.write(
                    &self.dir.join("fdyt").join("ZJD.shp"),
                    &spec,
                    &gang_zd_fields(true),
                )? as u64,
            );
            c.insert(format!("{name}/QuanLi.xlsx#QuanLi"), self.book.rows(0));
            c.insert(format!("{name}/QuanLi.xlsx#Hu"), self.book.rows(1));
            if let Some(h) = self.holders_csv.take() {
                c.insert(format!("{name}/QuanLiRen.csv"), h.finish()?);
            }
        }
        self.book.finish()?;
        Ok(c)
    }
}

/// Format one sub-zone (pure: runs in parallel).
fn format_zone(src: Source, z: &ZoneOut, zjd: bool, b: &Bases) -> Result<Formatted, SampleError> {
    let laiwu = src == Source::Laiwu;
    let mut f = Formatted::default();
    let mut line = String::with_capacity(256);
    // parcels
    for (k, p) in z.parcels.iter().enumerate() {
        let (layer, row) = if zjd {
            ("ZJD", b.zjd_row + k as u64)
        } else {
            (if laiwu { "ZD" } else { "ZongDi" }, b.zd_row + k as u64)
        };
        let rec = if laiwu {
            vec![
                t(&p.zddm_raw),
                t(&p.bdcdyh_raw),
                t(p.zdtzm),
                t(&p.zl),
                f2(p.zdmj),
                t("1"),
                t(p.yt07),
                t(p.qllx),
                t(p.qlxz),
                t(&p.djh),
                t(&p.tfh),
                t(&p.djzqdm),
            ]
        } else {
            let mut v = vec![
                t(&p.zddm_raw),
                t(&p.bdcdyh_raw),
                t(p.zdtzm),
                t(&p.zl),
                Some(format!("{:.6}", p.zdmj)),
                t(if p.mu { "亩" } else { "平方米" }),
                t(p.yt17),
                t(p.qllx),
                t(p.qlxz),
                t(&p.djh),
                t(&p.djzqdm),
            ];
            if zjd {
                v.remove(10);
                v.remove(9);
                v.remove(5);
            }
            v
        };
        if zjd {
            f.zjd.push((rec, p.legacy_ring.clone()));
        } else {
            f.zd.push((rec, p.legacy_ring.clone()));
        }
        for (k, c) in p.true_ring.iter().enumerate() {
            line.clear();
            let _ = writeln!(
                line,
                "{},{},0,0,{k},{:.3},{:.3},{layer},{row}",
                src.name(),
                p.zddm,
                c.x,
                c.y
            );
            f.vertices.extend_from_slice(line.as_bytes());
            f.vertex_lines += 1;
        }
    }
    // buildings (the 房地一体 survey delivers none)
    if !zjd {
        for (k, bd) in z.buildings.iter().enumerate() {
            let jgrq = if laiwu {
                bd.jgrq.compact()
            } else {
                mixed_date(bd.jgrq, b.zrz_row + k as u64)
            };
            let rec = vec![
                t(&bd.zrzh),
                t(&bd.zddm),
                t(&bd.jzwmc),
                t(&bd.zl),
                Some(bd.zcs.to_string()),
                t(bd.fwjg),
                t(bd.ghyt),
                Some(jgrq),
                f2(bd.zzdmj),
                f2(bd.scjzmj),
            ];
            f.zrz.push((rec, bd.legacy_ring.clone()));
        }
    }
    // house units (none for the 房地一体 survey: its buildings are not delivered either, so units
    // there would be orphans in an otherwise clean world)
    for u in z.units.iter().filter(|_| !zjd) {
        f.sheet1.push(vec![
            Cell::Text(u.bdcdyh.clone()),
            Cell::Text(u.zrzh.clone()),
            if laiwu {
                Cell::Text(u.ch.to_string())
            } else {
                Cell::Num(f64::from(u.ch))
            },
            Cell::Num(f64::from(u.hh)),
            Cell::Text(u.shbw.clone()),
            Cell::Text(u.fwyt.to_string()),
            Cell::Num(u.scjzmj),
            Cell::Num(u.sctn),
            Cell::Num(u.scft),
            Cell::Text(u.zl.clone()),
        ]);
    }
    // people.csv: natural persons, with the number as written
    let ids_of = &b.ids;
    for (p, id) in z.persons.iter().zip(ids_of) {
        if !p.company {
            line.clear();
            let _ = writeln!(line, "{},{},{}", p.name, id, p.phone);
            f.people.extend_from_slice(line.as_bytes());
            f.people_lines += 1;
        }
    }
    // rights and holders
    let mut certs = b.certs.clone();
    let mut ywhs = Vec::with_capacity(z.rights.len());
    let mut sheet0_row = b.sheet0_row;
    for (ri, r) in z.rights.iter().enumerate() {
        let ywh = ywh_text(src, b.ywh + ri as u64 + 1, r.djsj);
        let n = certs.entry(cert_key(r)).or_insert(0);
        *n += 1;
        let cert = cert_text(src, r, *n);
        let h = r.house.as_ref();
        let key = sheet0_row;
        if laiwu {
            let fields = [
                ywh.clone(),
                r.bdcdyh.clone(),
                r.qllx.into(),
                r.djlx.into(),
                r.djyy.into(),
                r.qlxz.into(),
                r.syqmj.map(fmt_num).unwrap_or_default(),
                opt_iso(r.qssj),
                opt_iso(r.jssj),
                cert.clone(),
                r.djsj.iso(),
                r.dbr.into(),
                r.qszt.into(),
                h.map(|h| h.fdzl.clone()).unwrap_or_default(),
                h.map(|h| h.fwjg.to_string()).unwrap_or_default(),
                h.map(|h| h.ghyt.to_string()).unwrap_or_default(),
                h.map(|h| fmt_num(h.jzmj)).unwrap_or_default(),
                h.map(|h| h.szc.to_string()).unwrap_or_default(),
                h.map(|h| h.zcs.to_string()).unwrap_or_default(),
            ];
            gbk_line(&csv_line(&fields), &mut f.rights_csv)?;
            f.rights_lines += 1;
        } else {
            let opt = |v: Option<String>| v.map_or(Cell::Empty, Cell::Text);
            f.sheet0.push(vec![
                Cell::Text(ywh.clone()),
                Cell::Text(r.bdcdyh.clone()),
                Cell::Text(r.qllx.into()),
                Cell::Text(r.djlx.into()),
                Cell::Text(r.djyy.into()),
                Cell::Text(r.qlxz.into()),
                r.syqmj.map_or(Cell::Empty, Cell::Num),
                if r.syqmj.is_some() {
                    Cell::Text(if r.mu { "亩" } else { "平方米" }.into())
                } else {
                    Cell::Empty
                },
                mixed_cell(r.qssj, key),
                mixed_cell(r.jssj, key + 1),
                Cell::Text(cert.clone()),
                mixed_cell(Some(r.djsj), key + 2),
                Cell::Text(r.dbr.into()),
                Cell::Text(r.qszt.into()),
                opt(h.map(|h| h.fwjg.to_string())),
                opt(h.map(|h| h.ghyt.to_string())),
                h.map_or(Cell::Empty, |h| Cell::Num(h.jzmj)),
                h.map_or(Cell::Empty, |h| Cell::Num(f64::from(h.szc))),
                h.map_or(Cell::Empty, |h| Cell::Num(f64::from(h.zcs))),
            ]);
            sheet0_row += 1;
        }
        for (sxh, ho) in r.holders.iter().enumerate() {
            let p = &z.persons[ho.person];
            let zjzl = if p.company { "8" } else { "1" };
            if laiwu {
                let qlbl = match (ho.gyfs, ho.share) {
                    ("1", _) | (_, None) => String::new(),
                    (_, Some((a, b))) => format!("{}%", a * 100 / b),
                };
                f.sheet0.push(vec![
                    Cell::Text(r.bdcdyh.clone()),
                    Cell::Num(sxh as f64 + 1.0),
                    Cell::Text(p.name.clone()),
                    Cell::Text(zjzl.into()),
                    Cell::Text(ids_of[ho.person].clone()),
                    Cell::Text(ho.gyfs.into()),
                    Cell::Text(qlbl),
                    Cell::Text(p.phone.clone()),
                    Cell::Text(p.address.clone()),
                    Cell::Text(cert.clone()),
                ]);
                sheet0_row += 1;
            } else {
                let fe = match (ho.gyfs, ho.share) {
                    ("1", _) | (_, None) => String::new(),
                    (_, Some((1, 1))) => "1".into(),
                    (_, Some((a, b))) if key % 2 == 0 => format!("{a}/{b}"),
                    (_, Some((a, b))) => format!("{}%", a * 100 / b),
                };
                let fields = [
                    r.bdcdyh.clone(),
                    (sxh + 1).to_string(),
                    p.name.clone(),
                    zjzl.into(),
                    ids_of[ho.person].clone(),
                    ho.gyfs.into(),
                    fe,
                    p.phone.clone(),
                    p.address.clone(),
                    cert.clone(),
                ];
                gbk_line(&csv_line(&fields), &mut f.holders_csv)?;
                f.holders_lines += 1;
            }
        }
        ywhs.push(ywh);
    }
    for tr in &z.truth {
        f.truth.push(Truth {
            rule: tr.rule,
            layer: tr.layer,
            feature_key: tr
                .right
                .map_or_else(|| tr.feature_key.clone(), |ri| ywhs[ri].clone()),
            other_key: tr.other_key.clone(),
            source: src.name(),
            note: tr.note.clone(),
        });
    }
    for (a, b2, c) in &z.tjunctions {
        f.tjunctions
            .push((src.name().to_string(), a.clone(), b2.clone(), c.clone()));
    }
    Ok(f)
}

#[cfg(test)]
mod tests {
    use super::*;
    use calamine::{open_workbook, Reader, Xlsx};

    #[test]
    fn long_sheets_continue_in_numbered_sheets() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.xlsx");
        let mut b = Book::new(&path, &[("权利人", &["A", "B"]), ("户", &["C"])]).unwrap();
        b.limit = 3;
        for i in 0..7 {
            b.row(0, &[Cell::Text(format!("r{i}")), Cell::Num(i as f64)])
                .unwrap();
        }
        b.row(1, &[Cell::Date(Date::new(2003, 5, 1))]).unwrap();
        assert_eq!(b.rows(0), 7);
        b.finish().unwrap();
        let mut wb: Xlsx<_> = open_workbook(&path).unwrap();
        assert_eq!(wb.sheet_names(), ["权利人", "户", "权利人_2", "权利人_3"]);
        let r = wb.worksheet_range("权利人_3").unwrap();
        assert_eq!(r.get_value((0, 0)).unwrap().to_string(), "A");
        assert_eq!(r.get_value((1, 0)).unwrap().to_string(), "r6");
        assert_eq!(wb.worksheet_range("权利人_2").unwrap().height(), 4);
    }

    #[test]
    fn gbk_memo_matches_encoding_rs() {
        let mut g = Gbk::default();
        let s = "亓庆元,莱城区凤城街道鲁中东大街12号，０１Ｇ㎡";
        let mut out = Vec::new();
        assert!(g.encode(s, &mut out));
        assert!(g.encode(s, &mut out));
        let (want, _, bad) = encoding_rs::GBK.encode(s);
        assert!(!bad);
        assert_eq!(out, [&want[..], &want[..]].concat());
        assert!(!g.encode("€", &mut out) || encoding_rs::GBK.encode("€").0.len() == 1);
        assert!(!g.encode("😀", &mut out));
    }
}
