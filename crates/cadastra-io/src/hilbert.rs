//! Spatial order for writers: the position of a point along a Hilbert curve, so that rows written
//! in that order are near each other on the ground (GeoParquet row groups, GeoPackage R-tree
//! packing).

/// Position along a Hilbert curve of order 16 of (x, y) in the unit square.
pub fn hilbert(x: f64, y: f64) -> u64 {
    let n: u64 = 1 << 16;
    let clamp = |v: f64| ((v.clamp(0.0, 1.0) * (n - 1) as f64) as u64).min(n - 1);
    let (mut x, mut y) = (clamp(x), clamp(y));
    let mut d = 0u64;
    let mut s = n / 2;
    while s > 0 {
        let rx = u64::from(x & s > 0);
        let ry = u64::from(y & s > 0);
        d += s * s * ((3 * rx) ^ ry);
        if ry == 0 {
            if rx == 1 {
                x = n - 1 - x;
                y = n - 1 - y;
            }
            std::mem::swap(&mut x, &mut y);
        }
        s /= 2;
    }
    d
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hilbert_is_a_bijection_on_a_small_grid_and_local() {
        assert_eq!(hilbert(0.0, 0.0), 0);
        let a = hilbert(0.1, 0.1);
        let b = hilbert(0.1001, 0.1001);
        let c = hilbert(0.9, 0.9);
        assert!(a.abs_diff(b) < a.abs_diff(c));
        assert!(hilbert(2.0, -1.0) < u64::MAX);
    }
}
