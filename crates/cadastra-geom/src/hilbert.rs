//! Spatial order: the position of a point along a Hilbert curve, so that things sorted by it are
//! near each other on the ground. Used to pack R-trees (the in-memory [`crate::index`] and the
//! GeoPackage registry's) and to order GeoParquet row groups.

/// Position along the Hilbert curve filling a 2^16 × 2^16 grid laid over the unit square, of
/// `(x, y)` in that square (values outside are clamped onto its edge).
pub fn hilbert(x: f64, y: f64) -> u32 {
    let cell = |v: f64| (v.clamp(0.0, 1.0) * 65535.0) as u32;
    grid(cell(x), cell(y))
}

/// Hilbert index of grid cell `(x, y)` in a 2^16 grid (Warren's "Hacker's Delight" iteration).
fn grid(x: u32, y: u32) -> u32 {
    let (mut x, mut y) = (x.min(0xffff), y.min(0xffff));
    let mut d = 0u32;
    let mut s = 1u32 << 15;
    while s > 0 {
        let rx = u32::from(x & s > 0);
        let ry = u32::from(y & s > 0);
        d += s * s * ((3 * rx) ^ ry);
        if ry == 0 {
            if rx == 1 {
                x = 0xffff - x;
                y = 0xffff - y;
            }
            std::mem::swap(&mut x, &mut y);
        }
        s >>= 1;
    }
    d
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_grid_index_is_a_bijection_on_a_small_grid() {
        // scaled to the top bits, the 64x64 corner of the grid maps onto distinct indices
        let mut seen = std::collections::HashSet::new();
        for x in 0..64u32 {
            for y in 0..64u32 {
                assert!(seen.insert(grid(x << 10, y << 10)));
            }
        }
    }

    #[test]
    fn hilbert_is_local_and_clamps() {
        assert_eq!(hilbert(0.0, 0.0), 0);
        let a = hilbert(0.1, 0.1);
        let b = hilbert(0.1001, 0.1001);
        let c = hilbert(0.9, 0.9);
        assert!(a.abs_diff(b) < a.abs_diff(c));
        assert_eq!(hilbert(2.0, -1.0), hilbert(1.0, 0.0));
    }
}
