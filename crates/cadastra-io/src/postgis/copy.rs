//! Registry rows to PostgreSQL's binary `COPY` format, and the checks that run before any byte is sent.
//!
//! Binary COPY sends each value in the server's own binary form: text as UTF-8, `bigint` and
//! `double precision` as 8 bytes, `date` as days since 2000-01-01, geometry as EWKB (what PostGIS's
//! `geometry_recv` reads; the SRID is in the EWKB so the typed column accepts it). Nothing is
//! escaped or printed, and the server parses no text.

use crate::wkb;
use cadastra_model::{Column, FieldType, GeometryType, Rows, TableDef};

/// EWKB flag: an SRID follows the type.
const EWKB_SRID: u32 = 0x2000_0000;
/// Days from 1970-01-01 to 2000-01-01 (PostgreSQL's date epoch).
const PG_EPOCH_DAYS: i64 = 10_957;

/// A problem with row `row` of a change (0 when it concerns the whole change).
pub(super) type RowProblem = (usize, String);

fn kind(c: &Column) -> &'static str {
    match c {
        Column::Text(_) => "text",
        Column::Int(_) => "integer",
        Column::Real(_) => "real",
    }
}

/// Check `rows` against the table definition: shape, column types, text PostgreSQL can hold
/// (no NUL), ISO dates, and rings PostGIS accepts (closed, at least four points).
pub(super) fn check_rows(def: &TableDef, rows: &Rows) -> Result<(), RowProblem> {
    if rows.columns.len() != def.fields.len() {
        return Err((
            0,
            format!(
                "{} columns given, schema has {}",
                rows.columns.len(),
                def.fields.len()
            ),
        ));
    }
    let n = rows.len();
    for (f, col) in def.fields.iter().zip(&rows.columns) {
        let fits = matches!(
            (f.ty, col),
            (FieldType::Text | FieldType::Date, Column::Text(_))
                | (FieldType::Int, Column::Int(_))
                | (FieldType::Real, Column::Real(_))
        );
        if !fits {
            return Err((
                0,
                format!(
                    "field {}: {} values given for a {} field",
                    f.name,
                    kind(col),
                    f.ty.as_str()
                ),
            ));
        }
        if col.len() != n {
            return Err((
                0,
                format!("field {}: {} values for {n} rows", f.name, col.len()),
            ));
        }
    }
    if def.geometry.is_some() && rows.geoms.len() != n {
        return Err((0, format!("{} geometries for {n} rows", rows.geoms.len())));
    }
    for (f, col) in def.fields.iter().zip(&rows.columns) {
        let Column::Text(c) = col else { continue };
        for (i, v) in c.iter().enumerate() {
            let Some(s) = v else { continue };
            if f.ty == FieldType::Date && parse_date(s).is_none() {
                return Err((
                    i,
                    format!("field {}: {s:?} is not a date (YYYY-MM-DD)", f.name),
                ));
            }
            if s.contains('\0') {
                return Err((
                    i,
                    format!(
                        "field {}: text contains a NUL character, which PostgreSQL cannot store",
                        f.name
                    ),
                ));
            }
        }
    }
    if def.geometry == Some(GeometryType::Multipolygon) {
        for (i, g) in rows.geoms.iter().enumerate() {
            let Some(mp) = g else { continue };
            for (pi, p) in mp.0.iter().enumerate() {
                for (ri, ring) in std::iter::once(p.exterior())
                    .chain(p.interiors())
                    .enumerate()
                {
                    let pts = &ring.0;
                    let which = if ri == 0 {
                        format!("polygon {}: exterior ring", pi + 1)
                    } else {
                        format!("polygon {}: interior ring {ri}", pi + 1)
                    };
                    if pts.len() < 4 {
                        return Err((
                            i,
                            format!(
                                "geometry: {which} has {} points, PostGIS needs at least 4",
                                pts.len()
                            ),
                        ));
                    }
                    if pts.first() != pts.last() {
                        return Err((i, format!("geometry: {which} is not closed")));
                    }
                }
            }
        }
    }
    Ok(())
}

/// `YYYY-MM-DD` (years 1 to 9999) to days since 1970-01-01.
pub(super) fn parse_date(s: &str) -> Option<i64> {
    let b = s.as_bytes();
    if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
        return None;
    }
    let num = |r: std::ops::Range<usize>| -> Option<i64> {
        b[r].iter().try_fold(0i64, |acc, &c| {
            c.is_ascii_digit().then(|| acc * 10 + i64::from(c - b'0'))
        })
    };
    let (y, m, d) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    let days_in_month = match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => return None,
    };
    if y < 1 || d < 1 || d > days_in_month {
        return None;
    }
    // days from civil (proleptic Gregorian), after H. Hinnant
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    Some(era * 146_097 + doe - 719_468)
}

/// Encoder of one binary COPY stream. `buf` fills up; the caller sends and clears it.
pub(super) struct CopyEncoder {
    pub buf: Vec<u8>,
    scratch: Vec<u8>,
    srid: i32,
}

impl CopyEncoder {
    /// Starts with the binary COPY header.
    pub fn new(srid: i32) -> CopyEncoder {
        let mut buf = Vec::with_capacity(1 << 21);
        buf.extend_from_slice(b"PGCOPY\n\xff\r\n\0");
        buf.extend_from_slice(&0i32.to_be_bytes()); // flags
        buf.extend_from_slice(&0i32.to_be_bytes()); // header extension length
        CopyEncoder {
            buf,
            scratch: Vec::with_capacity(512),
            srid,
        }
    }

    /// The trailer that ends the stream.
    pub fn finish(&mut self) {
        self.buf.extend_from_slice(&(-1i16).to_be_bytes());
    }

    fn null(&mut self) {
        self.buf.extend_from_slice(&(-1i32).to_be_bytes());
    }

    fn field(&mut self, bytes: &[u8]) -> Result<(), String> {
        let n = i32::try_from(bytes.len()).map_err(|_| "value longer than 2 GB".to_string())?;
        self.buf.extend_from_slice(&n.to_be_bytes());
        self.buf.extend_from_slice(bytes);
        Ok(())
    }

    /// Append row `i`: `fid` first when given, then the geometry when the table has one, then the
    /// fields in schema order. The rows must have passed [`check_rows`].
    pub fn row(
        &mut self,
        def: &TableDef,
        rows: &Rows,
        i: usize,
        fid: Option<i64>,
    ) -> Result<(), String> {
        let nfields = fid.is_some() as usize + def.geometry.is_some() as usize + def.fields.len();
        let nfields = i16::try_from(nfields).map_err(|_| "too many columns".to_string())?;
        self.buf.extend_from_slice(&nfields.to_be_bytes());
        if let Some(fid) = fid {
            self.field(&fid.to_be_bytes())?;
        }
        if let Some(gt) = def.geometry {
            self.geometry(gt, rows.geoms.get(i).and_then(Option::as_ref))?;
        }
        for (f, col) in def.fields.iter().zip(&rows.columns) {
            match col {
                Column::Text(c) => match c.get(i) {
                    None => self.null(),
                    Some(s) if f.ty == FieldType::Date => {
                        let days = parse_date(s)
                            .and_then(|d| i32::try_from(d - PG_EPOCH_DAYS).ok())
                            .ok_or_else(|| format!("field {}: {s:?} is not a date", f.name))?;
                        self.field(&days.to_be_bytes())?;
                    }
                    Some(s) => self.field(s.as_bytes())?,
                },
                Column::Int(c) => match c.get(i).copied().flatten() {
                    Some(v) => self.field(&v.to_be_bytes())?,
                    None => self.null(),
                },
                Column::Real(c) => match c.get(i).copied().flatten() {
                    Some(v) => self.field(&v.to_be_bytes())?,
                    None => self.null(),
                },
            }
        }
        Ok(())
    }

    fn geometry(
        &mut self,
        gt: GeometryType,
        g: Option<&geo_types::MultiPolygon<f64>>,
    ) -> Result<(), String> {
        let Some(g) = g else {
            self.null();
            return Ok(());
        };
        self.scratch.clear();
        match gt {
            GeometryType::Multipolygon => {
                self.scratch.push(1);
                self.scratch
                    .extend_from_slice(&(6 | EWKB_SRID).to_le_bytes());
                self.scratch.extend_from_slice(&self.srid.to_le_bytes());
                let body = self.scratch.len();
                wkb::write_multipolygon(&mut self.scratch, g);
                // drop the plain header (byte order + type) write_multipolygon starts with
                self.scratch.drain(body..body + 5);
            }
            GeometryType::Point => {
                // points are held as the first vertex of a one-vertex polygon (as the gpkg backend does)
                let Some(c) = g.0.first().and_then(|p| p.exterior().0.first()) else {
                    self.null();
                    return Ok(());
                };
                self.scratch.push(1);
                self.scratch
                    .extend_from_slice(&(1 | EWKB_SRID).to_le_bytes());
                self.scratch.extend_from_slice(&self.srid.to_le_bytes());
                self.scratch.extend_from_slice(&c.x.to_le_bytes());
                self.scratch.extend_from_slice(&c.y.to_le_bytes());
            }
        }
        let n = i32::try_from(self.scratch.len())
            .map_err(|_| "geometry larger than 2 GB".to_string())?;
        self.buf.extend_from_slice(&n.to_be_bytes());
        self.buf.extend_from_slice(&self.scratch);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use cadastra_model::registry;
    use geo_types::{polygon, MultiPolygon};

    #[test]
    fn dates() {
        assert_eq!(parse_date("1970-01-01"), Some(0));
        assert_eq!(parse_date("2000-01-01"), Some(PG_EPOCH_DAYS));
        assert_eq!(parse_date("2000-03-01"), Some(PG_EPOCH_DAYS + 31 + 29));
        assert_eq!(parse_date("1969-12-31"), Some(-1));
        assert_eq!(
            parse_date("2024-02-29").map(|d| d - parse_date("2024-02-28").unwrap()),
            Some(1)
        );
        for bad in [
            "2023-02-29",
            "1900-02-29",
            "2019-13-01",
            "2019-00-10",
            "2019-04-31",
            "0000-01-01",
            "2019-1-01",
            "2019/01/01",
            "20190101",
            "",
            "２０１９-01-01",
            "2019-01-0a",
        ] {
            assert_eq!(parse_date(bad), None, "{bad}");
        }
        assert!(parse_date("2000-02-29").is_some());
    }

    fn parcel_rows(geom: MultiPolygon<f64>) -> Rows {
        let def = registry().table("ZDJBXX").unwrap();
        let mut rows = Rows::new(def);
        for col in rows.columns.iter_mut() {
            match col {
                Column::Text(c) => c.push(Some("x")),
                Column::Int(c) => c.push(Some(1)),
                Column::Real(c) => c.push(None),
            }
        }
        rows.geoms.push(Some(geom));
        rows
    }

    #[test]
    fn rings_postgis_refuses_are_caught_first() {
        let def = registry().table("ZDJBXX").unwrap();
        let ok = polygon![(x: 0.0, y: 0.0), (x: 1.0, y: 0.0), (x: 1.0, y: 1.0), (x: 0.0, y: 0.0)];
        assert_eq!(
            check_rows(def, &parcel_rows(MultiPolygon(vec![ok.clone()]))),
            Ok(())
        );
        // geo-types closes rings itself, so a ring is short rather than open: two points and the closing one
        let short = geo_types::Polygon::new(
            geo_types::LineString::from(vec![(0.0, 0.0), (1.0, 0.0)]),
            vec![],
        );
        let e = check_rows(def, &parcel_rows(MultiPolygon(vec![ok, short]))).unwrap_err();
        assert_eq!(
            e.1,
            "geometry: polygon 2: exterior ring has 3 points, PostGIS needs at least 4"
        );
        let empty = geo_types::Polygon::new(geo_types::LineString(vec![]), vec![]);
        let e = check_rows(def, &parcel_rows(MultiPolygon(vec![empty]))).unwrap_err();
        assert!(e.1.contains("has 0 points"), "{}", e.1);
    }

    #[test]
    fn shape_types_text_and_dates_are_checked() {
        let def = registry().table("ZDJBXX").unwrap();
        let sq = polygon![(x: 0.0, y: 0.0), (x: 1.0, y: 0.0), (x: 1.0, y: 1.0), (x: 0.0, y: 0.0)];
        let good = parcel_rows(MultiPolygon(vec![sq]));
        let mut r = good.clone();
        r.columns.pop();
        assert!(check_rows(def, &r).unwrap_err().1.contains("columns given"));
        let mut r = good.clone();
        r.columns[0] = Column::Real(vec![Some(1.0)]); // BSM is an int field
        assert_eq!(
            check_rows(def, &r).unwrap_err().1,
            "field BSM: real values given for a int field"
        );
        let mut r = good.clone();
        let zl = def.field_index("ZL").unwrap();
        r.columns[zl] = Column::Text([Some("a\0b")].into_iter().collect());
        assert!(check_rows(def, &r).unwrap_err().1.contains("NUL"));
        let mut r = good.clone();
        r.geoms.clear();
        assert!(check_rows(def, &r)
            .unwrap_err()
            .1
            .contains("0 geometries for 1 rows"));
        // a table with a date field
        let (dt, fi) = registry()
            .tables
            .iter()
            .find_map(|t| {
                t.fields
                    .iter()
                    .position(|f| f.ty == FieldType::Date)
                    .map(|i| (t, i))
            })
            .unwrap();
        let mut rows = Rows::new(dt);
        for (j, col) in rows.columns.iter_mut().enumerate() {
            match col {
                Column::Text(c) => c.push(Some(if j == fi { "2019-02-30" } else { "x" })),
                Column::Int(c) => c.push(None),
                Column::Real(c) => c.push(None),
            }
        }
        if dt.geometry.is_some() {
            rows.geoms.push(None);
        }
        let e = check_rows(dt, &rows).unwrap_err();
        assert!(e.1.contains("\"2019-02-30\" is not a date"), "{}", e.1);
    }

    #[test]
    fn binary_row_layout() {
        let def = registry().table("ZDJBXX").unwrap();
        let sq = polygon![(x: 0.0, y: 0.0), (x: 1.0, y: 0.0), (x: 1.0, y: 1.0), (x: 0.0, y: 0.0)];
        let rows = parcel_rows(MultiPolygon(vec![sq]));
        let mut enc = CopyEncoder::new(4548);
        let header = enc.buf.len();
        assert_eq!(header, 19);
        enc.row(def, &rows, 0, Some(7)).unwrap();
        enc.finish();
        let b = &enc.buf[header..];
        assert_eq!(
            i16::from_be_bytes([b[0], b[1]]) as usize,
            2 + def.fields.len()
        );
        assert_eq!(i32::from_be_bytes(b[2..6].try_into().unwrap()), 8);
        assert_eq!(i64::from_be_bytes(b[6..14].try_into().unwrap()), 7);
        let glen = i32::from_be_bytes(b[14..18].try_into().unwrap()) as usize;
        let ewkb = &b[18..18 + glen];
        assert_eq!(&ewkb[..9], &[1, 6, 0, 0, 0x20, 0xC4, 0x11, 0, 0]); // MULTIPOLYGON, SRID 4548
        assert_eq!(glen, 9 + 4 + (1 + 4 + 4 + 4 + 4 * 16));
        assert_eq!(&enc.buf[enc.buf.len() - 2..], &[0xff, 0xff]);
    }
}
