//! .shp/.shx reading: the record index (from the .shx, or rebuilt by scanning the .shp) and
//! record parsing with shapelib's checks, in parallel over index chunks.
//!
//! Records are located only through the index, never by assuming they are contiguous (the
//! .shx of a "sparse" .shp points to records out of file order).

use crate::problem::{ProblemKind, RecordProblem};
use crate::rings;
use crate::shape_type::{ShapeFamily, ShapeType};
use crate::ShpError;
use geo_types::{
    Coord, Geometry, LineString, MultiLineString, MultiPoint, MultiPolygon, Point, Polygon,
};
use rayon::prelude::*;
use std::path::Path;

/// The 100-byte header shared by .shp and .shx.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Header {
    /// File length in bytes according to the header.
    pub file_len: u64,
    pub shape_type: i32,
    /// xmin, ymin, xmax, ymax
    pub bbox: [f64; 4],
}

fn be_i32(b: &[u8], at: usize) -> i32 {
    // callers check bounds; a short slice reads as 0 rather than panicking
    b.get(at..at + 4)
        .map_or(0, |s| i32::from_be_bytes([s[0], s[1], s[2], s[3]]))
}
fn le_i32(b: &[u8], at: usize) -> i32 {
    b.get(at..at + 4)
        .map_or(0, |s| i32::from_le_bytes([s[0], s[1], s[2], s[3]]))
}
fn le_u32(b: &[u8], at: usize) -> u32 {
    b.get(at..at + 4)
        .map_or(0, |s| u32::from_le_bytes([s[0], s[1], s[2], s[3]]))
}
fn le_f64(b: &[u8], at: usize) -> f64 {
    b.get(at..at + 8).map_or(f64::NAN, |s| {
        f64::from_le_bytes([s[0], s[1], s[2], s[3], s[4], s[5], s[6], s[7]])
    })
}

pub(crate) fn parse_header(path: &Path, b: &[u8]) -> Result<Header, ShpError> {
    let not = |reason: String| ShpError::NotAShapefile {
        path: path.to_path_buf(),
        reason,
    };
    if b.len() < 100 {
        return Err(not(format!(
            "{} bytes, shorter than the 100-byte header",
            b.len()
        )));
    }
    let code = be_i32(b, 0);
    if code != 9994 && code != 9997 {
        return Err(not(format!("file code {code}, expected 9994")));
    }
    let words = u32::from_be_bytes([b[24] & 0x7F, b[25], b[26], b[27]]);
    Ok(Header {
        file_len: u64::from(words) * 2,
        shape_type: le_i32(b, 32),
        bbox: [le_f64(b, 36), le_f64(b, 44), le_f64(b, 52), le_f64(b, 60)],
    })
}

/// Where record `i` is: byte offset of its 8-byte header and content length in bytes.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Entry {
    pub offset: u64,
    pub len: u64,
}

/// Does the index entry point at a record header that agrees with it?
fn entry_ok(shp: &[u8], e: &Entry) -> bool {
    let o = e.offset as usize;
    if e.offset < 100 || e.offset + 12 > shp.len() as u64 {
        return false;
    }
    let shp_len = u64::from(be_i32(shp, o + 4) as u32) * 2;
    // shapelib tolerates an index length that also counts the 8-byte record header
    (shp_len == e.len || shp_len + 8 == e.len)
        && ShapeType::from_code(le_i32(shp, o + 8)).is_some()
        && e.offset + 8 + shp_len.min(e.len) <= shp.len() as u64
}

/// Read the .shx entries and check each against the .shp record header it points to.
///
/// - Entries beyond the header's record count are used when all of them agree with the .shp
///   (the header count is then simply wrong).
/// - When entries disagree with the .shp and a scan of the .shp reads cleanly to its end, the
///   scanned index is used instead; otherwise the .shx entries are kept and the disagreeing
///   records become problems.
///
/// Returns the index and whether it was rebuilt by scanning; `None` means "rebuild by
/// scanning" (a .shx shorter than its header says).
pub(crate) fn index_from_shx(
    shx_path: &Path,
    shx: &[u8],
    shp_path: &Path,
    shp: &[u8],
    shp_header: &Header,
    warnings: &mut Vec<String>,
) -> Result<Option<(Vec<Entry>, bool)>, ShpError> {
    let h = parse_header(shx_path, shx)?;
    let declared = (h.file_len.saturating_sub(100) / 8) as usize;
    let present = (shx.len() - 100) / 8;
    if present < declared {
        warnings.push(format!(
            "{}: header declares {declared} records but the file holds {present} entries: index rebuilt from the .shp",
            shx_path.display()
        ));
        return Ok(None);
    }
    let entry = |i: usize| Entry {
        offset: u64::from(be_i32(shx, 100 + 8 * i) as u32) * 2,
        len: u64::from(be_i32(shx, 104 + 8 * i) as u32) * 2,
    };
    let mut out: Vec<Entry> = (0..declared).map(entry).collect();
    let bad: Vec<usize> = (0..declared).filter(|&i| !entry_ok(shp, &out[i])).collect();
    if !bad.is_empty() {
        let mut scan_warnings = Vec::new();
        let (scanned, clean) = index_by_scan(shp_path, shp, shp_header, &mut scan_warnings);
        let listed: Vec<String> = bad.iter().take(10).map(usize::to_string).collect();
        let more = if bad.len() > 10 {
            format!(" and {} more", bad.len() - 10)
        } else {
            String::new()
        };
        if clean {
            warnings.push(format!(
                "{}: entries {}{more} do not match the .shp record headers: index rebuilt by scanning the .shp ({} records; GDAL reads the .shx's {declared})",
                shx_path.display(),
                listed.join(", "),
                scanned.len()
            ));
            return Ok(Some((scanned, true)));
        }
        warnings.push(format!(
            "{}: entries {}{more} do not match the .shp record headers and the .shp cannot be scanned cleanly: those records are reported as problems",
            shx_path.display(),
            listed.join(", ")
        ));
        return Ok(Some((out, false)));
    }
    if present > declared {
        let extra: Vec<Entry> = (declared..present).map(entry).collect();
        if extra.iter().all(|e| entry_ok(shp, e)) {
            warnings.push(format!(
                "{}: header declares {declared} records but the index holds {present} valid entries: all {present} read (GDAL reads {declared})",
                shx_path.display()
            ));
            out.extend(extra);
        } else {
            warnings.push(format!(
                "{}: {} bytes after the {declared} declared entries ignored",
                shx_path.display(),
                shx.len() - 100 - 8 * declared
            ));
        }
    }
    Ok(Some((out, false)))
}

/// Rebuild the index by walking the .shp record headers (GDAL's SHAPE_RESTORE_SHX, but
/// stopping at the first unreadable header instead of refusing the file). A last record cut off
/// by the end of the file is kept (it becomes a problem). The flag is true when the walk ended
/// exactly at the end of the file.
pub(crate) fn index_by_scan(
    shp_path: &Path,
    shp: &[u8],
    h: &Header,
    warnings: &mut Vec<String>,
) -> (Vec<Entry>, bool) {
    let actual = shp.len() as u64;
    if h.file_len != actual {
        warnings.push(format!(
            "{}: header says {} bytes, the file has {actual}",
            shp_path.display(),
            h.file_len
        ));
    }
    let end = h.file_len.min(actual);
    let mut pos: u64 = 100;
    let mut out = Vec::new();
    while pos + 8 <= end {
        let p = pos as usize;
        let words = be_i32(shp, p + 4);
        let ty = if pos + 12 <= actual {
            Some(le_i32(shp, p + 8))
        } else {
            None
        };
        let type_ok = ty.and_then(ShapeType::from_code).is_some();
        if words < 2 || !type_ok {
            warnings.push(format!(
                "{}: bytes {pos}..{end} after record {} are not a record (content length {words} words, shape type {}): ignored",
                shp_path.display(),
                out.len(),
                ty.map_or("missing".to_string(), |t| t.to_string())
            ));
            return (out, false);
        }
        let len = u64::from(words as u32) * 2;
        if pos + 8 + len > end {
            warnings.push(format!(
                "{}: record {} at byte {pos} needs {len} bytes of content, only {} remain (truncated file)",
                shp_path.display(),
                out.len(),
                end - pos - 8
            ));
            out.push(Entry { offset: pos, len });
            return (out, false);
        }
        out.push(Entry { offset: pos, len });
        pos += 8 + len;
    }
    if pos < end {
        warnings.push(format!(
            "{}: {} bytes after the last record ignored",
            shp_path.display(),
            end - pos
        ));
        return (out, false);
    }
    (out, true)
}

/// Result of reading one record.
pub(crate) struct Shape {
    pub geom: Option<Geometry<f64>>,
    pub problem: Option<(ProblemKind, String)>,
}

fn corrupt(reason: String) -> Shape {
    Shape {
        geom: None,
        problem: Some((ProblemKind::BadShape, reason)),
    }
}

fn points(c: &[u8], at: usize, n: usize) -> Vec<Coord<f64>> {
    (0..n)
        .map(|i| Coord {
            x: le_f64(c, at + 16 * i),
            y: le_f64(c, at + 16 * i + 8),
        })
        .collect()
}

fn nodata(pts: &[Coord<f64>]) -> bool {
    pts.iter()
        .any(|p| !p.x.is_finite() || !p.y.is_finite() || p.x.abs() >= 1e300 || p.y.abs() >= 1e300)
}

/// Parse one record's content (starting at the shape type), following shapelib's
/// `SHPReadObject` size checks and `SHPReadOGRObject`'s geometry building.
pub(crate) fn parse_shape(c: &[u8], layer_family: ShapeFamily) -> Shape {
    if c.len() < 4 {
        return corrupt(format!(
            "record content is {} bytes, too short for a shape type",
            c.len()
        ));
    }
    let code = le_i32(c, 0);
    let Some(ty) = ShapeType::from_code(code) else {
        return corrupt(format!("unknown shape type {code}"));
    };
    let mut shape = match ty.family() {
        ShapeFamily::Null => Shape {
            geom: None,
            problem: None,
        },
        ShapeFamily::Point => {
            let need = 20 + if ty == ShapeType::PointZ { 8 } else { 0 };
            if c.len() < need {
                return corrupt(format!("{ty} record is {} bytes, needs {need}", c.len()));
            }
            let p = Coord {
                x: le_f64(c, 4),
                y: le_f64(c, 12),
            };
            let problem = nodata(&[p]).then(|| {
                (
                    ProblemKind::NoDataCoordinates,
                    format!("point ({:e} {:e}) is not a finite coordinate", p.x, p.y),
                )
            });
            Shape {
                geom: Some(Geometry::Point(Point(p))),
                problem,
            }
        }
        ShapeFamily::MultiPoint => {
            if c.len() < 40 {
                return corrupt(format!("{ty} record is {} bytes, needs 40", c.len()));
            }
            let n = le_u32(c, 36) as usize;
            if n > 50_000_000 {
                return corrupt(format!("{n} points"));
            }
            let need = 40
                + 16 * n
                + if ty == ShapeType::MultiPointZ {
                    16 + 8 * n
                } else {
                    0
                };
            if c.len() < need {
                return corrupt(format!(
                    "{ty} record with {n} points is {} bytes, needs {need}",
                    c.len()
                ));
            }
            if n == 0 {
                return Shape {
                    geom: None,
                    problem: None,
                };
            }
            let pts = points(c, 40, n);
            let problem = nodata(&pts).then(|| {
                (
                    ProblemKind::NoDataCoordinates,
                    "points that are not finite coordinates".to_string(),
                )
            });
            Shape {
                geom: Some(Geometry::MultiPoint(MultiPoint(
                    pts.into_iter().map(Point).collect(),
                ))),
                problem,
            }
        }
        ShapeFamily::PolyLine | ShapeFamily::Polygon | ShapeFamily::MultiPatch => {
            if c.len() < 44 {
                return corrupt(format!("{ty} record is {} bytes, needs 44", c.len()));
            }
            let n_parts = le_u32(c, 36) as usize;
            let n_points = le_u32(c, 40) as usize;
            if n_points > 50_000_000 || n_parts > 10_000_000 {
                return corrupt(format!("{n_parts} parts, {n_points} points"));
            }
            let mut need = 44 + 4 * n_parts + 16 * n_points;
            if ty.has_z() {
                need += 16 + 8 * n_points;
            }
            if ty == ShapeType::MultiPatch {
                need += 4 * n_parts;
            }
            if c.len() < need {
                return corrupt(format!(
                    "{ty} record with {n_parts} parts and {n_points} points is {} bytes, needs {need}",
                    c.len()
                ));
            }
            let starts: Vec<usize> = (0..n_parts)
                .map(|i| le_i32(c, 44 + 4 * i) as usize)
                .collect();
            for (i, &s) in starts.iter().enumerate() {
                let bad_start = (s as i64) < 0
                    || (s >= n_points && n_points > 0)
                    || (s > 0 && n_points == 0)
                    || (i > 0 && s <= starts[i - 1]);
                if bad_start {
                    return corrupt(format!(
                        "part {i} starts at point {}, of {n_points} points",
                        s as i64
                    ));
                }
            }
            let mut at = 44 + 4 * n_parts;
            let part_types: Vec<i32> = if ty == ShapeType::MultiPatch {
                let t = (0..n_parts).map(|i| le_i32(c, at + 4 * i)).collect();
                at += 4 * n_parts;
                t
            } else {
                Vec::new()
            };
            let mut rest = points(c, at, n_points);
            let nodata_problem = nodata(&rest).then(|| {
                (
                    ProblemKind::NoDataCoordinates,
                    "vertices that are not finite coordinates".to_string(),
                )
            });
            // split the points into parts from the end (the first part keeps the buffer);
            // points before the first part start are ignored, as shapelib does
            let mut parts: Vec<Vec<Coord<f64>>> = Vec::with_capacity(n_parts);
            for &s in starts.iter().rev() {
                if s == 0 {
                    parts.push(std::mem::take(&mut rest));
                } else {
                    parts.push(rest.split_off(s.min(rest.len())));
                }
            }
            parts.reverse();
            match ty.family() {
                ShapeFamily::PolyLine => {
                    let geom = match parts.len() {
                        0 => None,
                        1 => parts
                            .into_iter()
                            .next()
                            .map(|p| Geometry::LineString(LineString(p))),
                        _ => Some(Geometry::MultiLineString(MultiLineString(
                            parts.into_iter().map(LineString).collect(),
                        ))),
                    };
                    Shape {
                        geom,
                        problem: nodata_problem,
                    }
                }
                ShapeFamily::Polygon => {
                    let (geom, organised) = rings::organize(parts);
                    let problem = if organised {
                        nodata_problem
                    } else {
                        Some((
                            ProblemKind::RingsNotOrganised,
                            "rings with fewer than 4 points: every ring returned as its own polygon".to_string(),
                        ))
                    };
                    Shape { geom, problem }
                }
                _ => multipatch(parts, &part_types),
            }
        }
    };
    if shape.problem.is_none() && ty.family() != ShapeFamily::Null && ty.family() != layer_family {
        shape.problem = Some((
            ProblemKind::ShapeTypeMismatch,
            format!("{ty} record in a {layer_family:?} layer: read as its own type"),
        ));
    }
    shape
}

/// MultiPatch parts as 2D polygons, following GDAL's `OGRCreateFromMultiPatch`: triangle
/// strips, fans and triangle lists become one polygon per triangle; an outer ring or a first
/// ring starts a polygon and the inner rings / rings after it are its further rings. Z is
/// dropped.
fn multipatch(parts: Vec<Vec<Coord<f64>>>, types: &[i32]) -> Shape {
    let mut polys: Vec<Polygon<f64>> = Vec::new();
    let mut current: Option<Polygon<f64>> = None;
    let tri = |a: Coord<f64>, b: Coord<f64>, c: Coord<f64>| {
        Polygon::new(LineString(vec![a, b, c, a]), vec![])
    };
    for (p, &t) in parts.into_iter().zip(types) {
        match t {
            0 => polys.extend(p.windows(3).map(|w| tri(w[0], w[1], w[2]))),
            1 => polys.extend((1..p.len().saturating_sub(1)).map(|i| tri(p[0], p[i], p[i + 1]))),
            6 => polys.extend(p.chunks_exact(3).map(|w| tri(w[0], w[1], w[2]))),
            3 | 5 if current.is_some() => {
                if let Some(c) = current.as_mut() {
                    c.interiors_push(LineString(p));
                }
            }
            _ => {
                polys.extend(current.take());
                current = Some(Polygon::new(LineString(p), vec![]));
            }
        }
    }
    polys.extend(current);
    if polys.is_empty() {
        return Shape {
            geom: None,
            problem: None,
        };
    }
    Shape {
        geom: Some(Geometry::MultiPolygon(MultiPolygon(polys))),
        problem: None,
    }
}

/// Read all records of `index` from the .shp bytes, in parallel. Returns one geometry per
/// entry and the problems (`row` = entry position; the caller maps rows).
pub(crate) fn read_records(
    shp: &[u8],
    index: &[Entry],
    layer_type: ShapeType,
) -> (Vec<Option<Geometry<f64>>>, Vec<RecordProblem>) {
    let family = layer_type.family();
    let chunk = 4096;
    type Part = (Vec<Option<Geometry<f64>>>, Vec<RecordProblem>);
    let parts: Vec<Part> = index
        .par_chunks(chunk)
        .enumerate()
        .map(|(ci, entries)| {
            let mut geoms = Vec::with_capacity(entries.len());
            let mut problems = Vec::new();
            for (k, e) in entries.iter().enumerate() {
                let rec = ci * chunk + k;
                let (shape, raw) = read_one(shp, e, family);
                if let Some((kind, reason)) = shape.problem {
                    problems.push(RecordProblem {
                        row: rec,
                        record: rec,
                        field: None,
                        kind,
                        reason,
                        raw,
                    });
                }
                geoms.push(shape.geom);
            }
            (geoms, problems)
        })
        .collect();
    let mut geoms = Vec::with_capacity(index.len());
    let mut problems = Vec::new();
    for (g, p) in parts {
        geoms.extend(g);
        problems.extend(p);
    }
    (geoms, problems)
}

/// One record; the raw bytes are the first 64 bytes of the record for problem reports.
fn read_one(shp: &[u8], e: &Entry, family: ShapeFamily) -> (Shape, Vec<u8>) {
    let size = shp.len() as u64;
    let raw = |from: u64| -> Vec<u8> {
        let f = from.min(size) as usize;
        shp[f..(f + 64).min(shp.len())].to_vec()
    };
    if e.offset < 100 || e.offset + 8 > size {
        return (
            corrupt(format!(
                "offset {} is outside the .shp ({size} bytes)",
                e.offset
            )),
            raw(e.offset),
        );
    }
    let start = e.offset + 8;
    let mut len = e.len;
    if start + len > size {
        // shapelib's tolerance: an index length that counts the 8-byte record header too
        let shp_len = u64::from(be_i32(shp, e.offset as usize + 4) as u32) * 2;
        if len >= 8 && shp_len + 8 == len && start + shp_len <= size {
            len = shp_len;
        } else {
            return (
                corrupt(format!(
                    "record at byte {} needs {} bytes of content, only {} remain in the .shp",
                    e.offset,
                    e.len,
                    size - start
                )),
                raw(e.offset),
            );
        }
    }
    let content = &shp[start as usize..(start + len) as usize];
    let shape = parse_shape(content, family);
    let r = if shape.problem.is_some() {
        raw(e.offset)
    } else {
        Vec::new()
    };
    (shape, r)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn polygon_content(parts: &[&[(f64, f64)]]) -> Vec<u8> {
        let mut c = Vec::new();
        c.extend_from_slice(&5i32.to_le_bytes());
        c.extend_from_slice(&[0u8; 32]);
        let n: usize = parts.iter().map(|p| p.len()).sum();
        c.extend_from_slice(&(parts.len() as i32).to_le_bytes());
        c.extend_from_slice(&(n as i32).to_le_bytes());
        let mut s = 0;
        for p in parts {
            c.extend_from_slice(&(s as i32).to_le_bytes());
            s += p.len();
        }
        for p in parts {
            for (x, y) in p.iter() {
                c.extend_from_slice(&x.to_le_bytes());
                c.extend_from_slice(&y.to_le_bytes());
            }
        }
        c
    }

    #[test]
    fn truncated_polygon_content_is_a_problem_not_a_panic() {
        let c = polygon_content(&[&[(0., 0.), (0., 1.), (1., 1.), (0., 0.)]]);
        for cut in 0..c.len() {
            let s = parse_shape(&c[..cut], ShapeFamily::Polygon);
            assert!(s.geom.is_none() && s.problem.is_some(), "cut at {cut}");
        }
        let s = parse_shape(&c, ShapeFamily::Polygon);
        assert!(matches!(s.geom, Some(Geometry::Polygon(_))) && s.problem.is_none());
    }

    #[test]
    fn part_starts_must_increase() {
        let mut c = polygon_content(&[
            &[(0., 0.), (0., 1.), (1., 1.), (0., 0.)],
            &[(5., 5.), (5., 6.), (6., 6.), (5., 5.)],
        ]);
        c[48..52].copy_from_slice(&0i32.to_le_bytes()); // second part also starts at 0
        let s = parse_shape(&c, ShapeFamily::Polygon);
        assert!(s.geom.is_none());
        assert_eq!(s.problem.map(|p| p.0), Some(ProblemKind::BadShape));
    }

    #[test]
    fn point_in_polygon_layer_is_flagged_but_read() {
        let mut c = Vec::new();
        c.extend_from_slice(&1i32.to_le_bytes());
        c.extend_from_slice(&1.5f64.to_le_bytes());
        c.extend_from_slice(&2.5f64.to_le_bytes());
        let s = parse_shape(&c, ShapeFamily::Polygon);
        assert!(matches!(s.geom, Some(Geometry::Point(_))));
        assert_eq!(s.problem.map(|p| p.0), Some(ProblemKind::ShapeTypeMismatch));
    }
}
