//! WKB (ISO, little-endian) and GeoPackage binary geometry for the geometry types the registry uses.

use geo_types::{Coord, LineString, MultiPolygon, Point, Polygon};

/// Append the WKB of a multipolygon to `out`.
pub fn write_multipolygon(out: &mut Vec<u8>, mp: &MultiPolygon<f64>) {
    out.push(1);
    out.extend_from_slice(&6u32.to_le_bytes());
    out.extend_from_slice(&(mp.0.len() as u32).to_le_bytes());
    for p in &mp.0 {
        out.push(1);
        out.extend_from_slice(&3u32.to_le_bytes());
        out.extend_from_slice(&(1 + p.interiors().len() as u32).to_le_bytes());
        for ring in std::iter::once(p.exterior()).chain(p.interiors()) {
            out.extend_from_slice(&(ring.0.len() as u32).to_le_bytes());
            for c in &ring.0 {
                out.extend_from_slice(&c.x.to_le_bytes());
                out.extend_from_slice(&c.y.to_le_bytes());
            }
        }
    }
}

pub fn write_point(out: &mut Vec<u8>, p: Point<f64>) {
    out.push(1);
    out.extend_from_slice(&1u32.to_le_bytes());
    out.extend_from_slice(&p.x().to_le_bytes());
    out.extend_from_slice(&p.y().to_le_bytes());
}

/// Envelope (minx, maxx, miny, maxy) of a multipolygon's exteriors; `None` when empty.
pub fn envelope(mp: &MultiPolygon<f64>) -> Option<[f64; 4]> {
    let mut e = [
        f64::INFINITY,
        f64::NEG_INFINITY,
        f64::INFINITY,
        f64::NEG_INFINITY,
    ];
    for p in &mp.0 {
        for c in &p.exterior().0 {
            e[0] = e[0].min(c.x);
            e[1] = e[1].max(c.x);
            e[2] = e[2].min(c.y);
            e[3] = e[3].max(c.y);
        }
    }
    (e[0] <= e[1]).then_some(e)
}

/// GeoPackage blob of a multipolygon: "GP" header, srs id, xy envelope, WKB.
pub fn gpkg_multipolygon(out: &mut Vec<u8>, srs_id: i32, mp: &MultiPolygon<f64>) {
    out.clear();
    out.extend_from_slice(b"GP");
    out.push(0);
    match envelope(mp) {
        Some(e) => {
            out.push(0b0000_0011); // envelope xy, little endian
            out.extend_from_slice(&srs_id.to_le_bytes());
            for v in e {
                out.extend_from_slice(&v.to_le_bytes());
            }
        }
        None => {
            out.push(0b0001_0001); // empty, no envelope, little endian
            out.extend_from_slice(&srs_id.to_le_bytes());
        }
    }
    write_multipolygon(out, mp);
}

pub fn gpkg_point(out: &mut Vec<u8>, srs_id: i32, p: Point<f64>) {
    out.clear();
    out.extend_from_slice(b"GP");
    out.push(0);
    out.push(0b0000_0001);
    out.extend_from_slice(&srs_id.to_le_bytes());
    write_point(out, p);
}

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum WkbError {
    #[error("geometry blob truncated at byte {0}")]
    Truncated(usize),
    #[error("not a GeoPackage geometry blob")]
    NotGpkg,
    #[error("unsupported WKB geometry type {0}")]
    Unsupported(u32),
}

struct Rd<'a> {
    b: &'a [u8],
    pos: usize,
    le: bool,
}

impl Rd<'_> {
    fn take<const N: usize>(&mut self) -> Result<[u8; N], WkbError> {
        let s = self
            .b
            .get(self.pos..self.pos + N)
            .ok_or(WkbError::Truncated(self.pos))?;
        self.pos += N;
        let mut a = [0u8; N];
        a.copy_from_slice(s);
        Ok(a)
    }
    fn u8(&mut self) -> Result<u8, WkbError> {
        Ok(self.take::<1>()?[0])
    }
    fn u32(&mut self) -> Result<u32, WkbError> {
        let a = self.take::<4>()?;
        Ok(if self.le {
            u32::from_le_bytes(a)
        } else {
            u32::from_be_bytes(a)
        })
    }
    fn f64(&mut self) -> Result<f64, WkbError> {
        let a = self.take::<8>()?;
        Ok(if self.le {
            f64::from_le_bytes(a)
        } else {
            f64::from_be_bytes(a)
        })
    }
    fn count(&mut self, min_bytes_each: usize) -> Result<usize, WkbError> {
        let n = self.u32()? as usize;
        // refuse counts the remaining bytes cannot hold (hostile blobs)
        if n.saturating_mul(min_bytes_each) > self.b.len().saturating_sub(self.pos) {
            return Err(WkbError::Truncated(self.pos));
        }
        Ok(n)
    }
}

/// A decoded registry geometry.
#[derive(Debug, Clone, PartialEq)]
pub enum Decoded {
    Point(Point<f64>),
    MultiPolygon(MultiPolygon<f64>),
}

fn read_polygon(r: &mut Rd<'_>) -> Result<Polygon<f64>, WkbError> {
    let nrings = r.count(4)?;
    let mut rings = Vec::with_capacity(nrings);
    for _ in 0..nrings {
        let n = r.count(16)?;
        let mut pts = Vec::with_capacity(n);
        for _ in 0..n {
            pts.push(Coord {
                x: r.f64()?,
                y: r.f64()?,
            });
        }
        rings.push(LineString(pts));
    }
    let mut it = rings.into_iter();
    let ext = it.next().unwrap_or_else(|| LineString(vec![]));
    Ok(Polygon::new(ext, it.collect()))
}

fn read_wkb(r: &mut Rd<'_>) -> Result<Decoded, WkbError> {
    r.le = r.u8()? == 1;
    let ty = r.u32()?;
    match ty {
        1 => Ok(Decoded::Point(Point::new(r.f64()?, r.f64()?))),
        3 => Ok(Decoded::MultiPolygon(MultiPolygon(vec![read_polygon(r)?]))),
        6 => {
            let n = r.count(9)?;
            let mut polys = Vec::with_capacity(n);
            for _ in 0..n {
                r.le = r.u8()? == 1;
                let t = r.u32()?;
                if t != 3 {
                    return Err(WkbError::Unsupported(t));
                }
                polys.push(read_polygon(r)?);
            }
            Ok(Decoded::MultiPolygon(MultiPolygon(polys)))
        }
        t => Err(WkbError::Unsupported(t)),
    }
}

/// Decode plain WKB.
pub fn decode_wkb(b: &[u8]) -> Result<Decoded, WkbError> {
    read_wkb(&mut Rd {
        b,
        pos: 0,
        le: true,
    })
}

/// Decode a GeoPackage geometry blob.
pub fn decode_gpkg(b: &[u8]) -> Result<Decoded, WkbError> {
    if b.len() < 8 || &b[0..2] != b"GP" {
        return Err(WkbError::NotGpkg);
    }
    let flags = b[3];
    let env = match (flags >> 1) & 0b111 {
        0 => 0,
        1 => 32,
        2 | 3 => 48,
        4 => 64,
        _ => return Err(WkbError::NotGpkg),
    };
    let start = 8 + env;
    if b.len() < start {
        return Err(WkbError::Truncated(b.len()));
    }
    read_wkb(&mut Rd {
        b: &b[start..],
        pos: 0,
        le: true,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use geo_types::polygon;

    #[test]
    fn multipolygon_round_trip() {
        let p = polygon![(x: 0.0, y: 0.0), (x: 10.0, y: 0.0), (x: 10.0, y: 5.0), (x: 0.0, y: 0.0)];
        let mp = MultiPolygon(vec![p.clone(), p]);
        let mut blob = Vec::new();
        gpkg_multipolygon(&mut blob, 4548, &mp);
        assert_eq!(&blob[..4], &[b'G', b'P', 0, 3]);
        assert_eq!(i32::from_le_bytes(blob[4..8].try_into().unwrap()), 4548);
        assert_eq!(decode_gpkg(&blob).unwrap(), Decoded::MultiPolygon(mp));
        assert!(decode_gpkg(&blob[..blob.len() - 3]).is_err());
    }

    #[test]
    fn hostile_counts_are_refused() {
        let mut b = vec![1u8];
        b.extend_from_slice(&6u32.to_le_bytes());
        b.extend_from_slice(&u32::MAX.to_le_bytes());
        assert!(matches!(decode_wkb(&b), Err(WkbError::Truncated(_))));
    }
}
