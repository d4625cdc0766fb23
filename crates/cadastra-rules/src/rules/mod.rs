//! The rule registry: a plain slice in id order (greppable; a test keeps it sorted and unique).

use crate::Rule;
use cadastra_model::Geom;

mod geom01_validity;
mod geom02_null_geometry;

/// Every rule, in id order.
pub static RULES: &[&dyn Rule] = &[&geom01_validity::Validity, &geom02_null_geometry::NullGeometry];

/// A point inside (or on) a geometry, for finding locations.
pub fn locate(g: &Geom) -> Option<(f64, f64)> {
    use geo::InteriorPoint;
    g.interior_point().map(|p| (p.x(), p.y())).or_else(|| {
        g.0.first().and_then(|p| p.exterior().0.first()).map(|c| (c.x, c.y))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registry_is_sorted_and_unique() {
        let ids: Vec<&str> = RULES.iter().map(|r| r.id().0).collect();
        let mut sorted = ids.clone();
        sorted.sort();
        sorted.dedup();
        assert_eq!(ids, sorted);
    }
}
