//! Shape type codes of the ESRI shapefile specification.

/// The shape type of a .shp file or record, including the Z and M variants.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ShapeType {
    Null,
    Point,
    PolyLine,
    Polygon,
    MultiPoint,
    PointZ,
    PolyLineZ,
    PolygonZ,
    MultiPointZ,
    PointM,
    PolyLineM,
    PolygonM,
    MultiPointM,
    MultiPatch,
}

/// The geometry family of a shape type, without Z/M.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ShapeFamily {
    Null,
    Point,
    MultiPoint,
    PolyLine,
    Polygon,
    MultiPatch,
}

impl ShapeType {
    /// The type for a code, `None` for codes the specification does not define.
    pub fn from_code(code: i32) -> Option<ShapeType> {
        Some(match code {
            0 => ShapeType::Null,
            1 => ShapeType::Point,
            3 => ShapeType::PolyLine,
            5 => ShapeType::Polygon,
            8 => ShapeType::MultiPoint,
            11 => ShapeType::PointZ,
            13 => ShapeType::PolyLineZ,
            15 => ShapeType::PolygonZ,
            18 => ShapeType::MultiPointZ,
            21 => ShapeType::PointM,
            23 => ShapeType::PolyLineM,
            25 => ShapeType::PolygonM,
            28 => ShapeType::MultiPointM,
            31 => ShapeType::MultiPatch,
            _ => return None,
        })
    }
    /// The code stored in the file.
    pub fn code(self) -> i32 {
        match self {
            ShapeType::Null => 0,
            ShapeType::Point => 1,
            ShapeType::PolyLine => 3,
            ShapeType::Polygon => 5,
            ShapeType::MultiPoint => 8,
            ShapeType::PointZ => 11,
            ShapeType::PolyLineZ => 13,
            ShapeType::PolygonZ => 15,
            ShapeType::MultiPointZ => 18,
            ShapeType::PointM => 21,
            ShapeType::PolyLineM => 23,
            ShapeType::PolygonM => 25,
            ShapeType::MultiPointM => 28,
            ShapeType::MultiPatch => 31,
        }
    }
    /// The geometry family (point, line, polygon, ...).
    pub fn family(self) -> ShapeFamily {
        use ShapeType::*;
        match self {
            Null => ShapeFamily::Null,
            Point | PointZ | PointM => ShapeFamily::Point,
            MultiPoint | MultiPointZ | MultiPointM => ShapeFamily::MultiPoint,
            PolyLine | PolyLineZ | PolyLineM => ShapeFamily::PolyLine,
            Polygon | PolygonZ | PolygonM => ShapeFamily::Polygon,
            MultiPatch => ShapeFamily::MultiPatch,
        }
    }
    /// Records carry Z values (Z types and MultiPatch).
    pub fn has_z(self) -> bool {
        use ShapeType::*;
        matches!(
            self,
            PointZ | PolyLineZ | PolygonZ | MultiPointZ | MultiPatch
        )
    }
    /// Records carry (or may carry: optional in Z types) M values.
    pub fn has_m(self) -> bool {
        use ShapeType::*;
        matches!(
            self,
            PointM
                | PolyLineM
                | PolygonM
                | MultiPointM
                | PointZ
                | PolyLineZ
                | PolygonZ
                | MultiPointZ
                | MultiPatch
        )
    }
}

impl std::fmt::Display for ShapeType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{self:?} ({})", self.code())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_round_trip_and_unknown_codes_are_none() {
        for code in 0..40 {
            if let Some(t) = ShapeType::from_code(code) {
                assert_eq!(t.code(), code);
            }
        }
        assert_eq!(ShapeType::from_code(2), None);
        assert_eq!(
            ShapeType::from_code(15).map(|t| t.family()),
            Some(ShapeFamily::Polygon)
        );
        assert!(ShapeType::PolygonZ.has_z() && !ShapeType::PolygonM.has_z());
    }
}
