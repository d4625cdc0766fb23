//! The SQL functions the GeoPackage R-tree triggers call (ST_MinX, ST_MaxX, ST_MinY, ST_MaxY,
//! ST_IsEmpty). GDAL and QGIS register their own; a bare SQLite connection must register these.

use rusqlite::functions::{Context, FunctionFlags};
use rusqlite::Connection;

/// Envelope of a GeoPackage blob: from its header when it has one, else by decoding the WKB.
fn envelope(blob: &[u8]) -> Option<[f64; 4]> {
    if blob.len() < 8 || &blob[..2] != b"GP" {
        return None;
    }
    let flags = blob[3];
    if flags & 0b0001_0000 != 0 {
        return None; // empty
    }
    let le = flags & 1 == 1;
    let rd = |o: usize| -> Option<f64> {
        let a: [u8; 8] = blob.get(o..o + 8)?.try_into().ok()?;
        Some(if le {
            f64::from_le_bytes(a)
        } else {
            f64::from_be_bytes(a)
        })
    };
    if (flags >> 1) & 0b111 != 0 {
        return Some([rd(8)?, rd(16)?, rd(24)?, rd(32)?]);
    }
    match crate::wkb::decode_gpkg(blob).ok()? {
        crate::wkb::Decoded::Point(p) => Some([p.x(), p.x(), p.y(), p.y()]),
        crate::wkb::Decoded::MultiPolygon(mp) => crate::wkb::envelope(&mp),
    }
}

fn env_fn(ctx: &Context<'_>, k: usize) -> rusqlite::Result<Option<f64>> {
    let v = ctx.get_raw(0);
    Ok(v.as_blob_or_null()
        .ok()
        .flatten()
        .and_then(envelope)
        .map(|e| e[k]))
}

pub fn register(conn: &Connection) -> rusqlite::Result<()> {
    let flags = FunctionFlags::SQLITE_UTF8 | FunctionFlags::SQLITE_DETERMINISTIC;
    conn.create_scalar_function("ST_MinX", 1, flags, |c| env_fn(c, 0))?;
    conn.create_scalar_function("ST_MaxX", 1, flags, |c| env_fn(c, 1))?;
    conn.create_scalar_function("ST_MinY", 1, flags, |c| env_fn(c, 2))?;
    conn.create_scalar_function("ST_MaxY", 1, flags, |c| env_fn(c, 3))?;
    conn.create_scalar_function("ST_IsEmpty", 1, flags, |c| {
        let v = c.get_raw(0);
        Ok(v.as_blob_or_null()
            .ok()
            .flatten()
            .map(|b| b.len() < 8 || b[3] & 0b0001_0000 != 0))
    })?;
    Ok(())
}
