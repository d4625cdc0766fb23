//! Legacy coordinates: the invented Xi'an-80 → CGCS2000 7-parameter operation (cadastra-crs's
//! explicit PROJ pipeline, run backwards and refined against the forward so that the forward
//! operation gets the true coordinates back to well under a millimetre), and the 房地一体 local grid
//! (4-parameter plane similarity).

use crate::SampleError;
use cadastra_crs::{CrsError, Operation, OperatorParams, Transformer};
use geo_types::Coord;
use serde::Serialize;

/// 7-parameter Bursa-Wolf set Xi'an 1980 → CGCS2000, position-vector rotation convention
/// (PROJ `+convention=position_vector`, EPSG method 9606): translations in metres, rotations in
/// arc-seconds, scale difference in ppm.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Bursa {
    pub tx: f64,
    pub ty: f64,
    pub tz: f64,
    pub rx: f64,
    pub ry: f64,
    pub rz: f64,
    pub ds_ppm: f64,
}

/// The invented operation of this world (plausible magnitudes, not a real, secret set).
pub const XIAN80_TO_CGCS2000: Bursa = Bursa {
    tx: -24.826,
    ty: 67.352,
    tz: 32.719,
    rx: 0.842,
    ry: -1.376,
    rz: 2.115,
    ds_ppm: 3.186,
};

impl Bursa {
    /// The cadastra-crs `7p` parameter file (position-vector convention, EPSG:2384 → EPSG:4548).
    pub fn params_toml(&self, description: &str) -> String {
        format!(
            "# Xi'an 1980 -> CGCS2000 7-parameter (Bursa-Wolf) set of the sample world, in the\n\
             # operator parameter format of cadastra-crs. Invented for the generated data (real sets\n\
             # are classified and stay on the isolated network). Rotation convention: position\n\
             # vector (EPSG method 9606, PROJ +convention=position_vector). Applied to geocentric\n\
             # coordinates on the Xi'an 1980 ellipsoid (IAG-75, a = 6378140, 1/f = 298.257), giving\n\
             # CGCS2000 (GRS80) geocentric coordinates. Serves EPSG:2363 (zone prefix) too.\n\
             model = \"7p\"\n\
             convention = \"position_vector\"\n\
             source = \"EPSG:2384\"\n\
             target = \"EPSG:4548\"\n\
             description = \"{description}\"\n\
             tx = {}   # metres\nty = {}\ntz = {}\n\
             rx = {}   # arc-seconds\nry = {}\nrz = {}\n\
             ds = {}   # ppm\n",
            self.tx, self.ty, self.tz, self.rx, self.ry, self.rz, self.ds_ppm
        )
    }
    /// The operation of this parameter set, through cadastra-crs (the pipeline's own code), on
    /// PROJ alone: the generated files are the same whether or not the native path is used.
    pub fn operation(&self) -> Result<Operation, SampleError> {
        let text = self.params_toml("cadastra sample world");
        let p =
            OperatorParams::parse(&text, "operator/xian80_to_cgcs2000.toml").map_err(crs_err)?;
        Operation::from_params(&p)
            .map(Operation::proj_only)
            .map_err(crs_err)
    }
}

fn crs_err(e: CrsError) -> SampleError {
    SampleError::Crs(e.to_string())
}

/// A per-thread converter between true CGCS2000 and legacy Xi'an-80 plane coordinates: the
/// inverse of cadastra-crs's operation, refined by one Newton step against its forward
/// direction (PROJ's inverse Helmert is the transpose of the small-angle matrix, about a
/// millimetre off for rotations of a few arc-seconds), so the forward gets the truth back
/// to well under a micrometre.
pub struct Xian80 {
    fwd: Transformer,
    inv: Transformer,
}

impl Xian80 {
    pub fn new(op: &Operation) -> Result<Xian80, SampleError> {
        let inv = op.inverse().map_err(crs_err)?;
        Ok(Xian80 {
            fwd: op.transformer().map_err(crs_err)?,
            inv: inv.transformer().map_err(crs_err)?,
        })
    }
    /// True EPSG:4548 → legacy EPSG:2384, in place.
    pub fn to_legacy(&self, pts: &mut [Coord<f64>]) -> Result<(), SampleError> {
        let truth: Vec<Coord<f64>> = pts.to_vec();
        self.inv.transform_coords(pts).map_err(crs_err)?;
        let mut back: Vec<Coord<f64>> = pts.to_vec();
        self.fwd.transform_coords(&mut back).map_err(crs_err)?;
        for ((p, t), b) in pts.iter_mut().zip(&truth).zip(&back) {
            p.x += t.x - b.x;
            p.y += t.y - b.y;
        }
        Ok(())
    }
    /// Legacy EPSG:2384 → true EPSG:4548, in place (what a pipeline does).
    #[cfg(test)]
    pub fn to_true(&self, pts: &mut [Coord<f64>]) -> Result<(), SampleError> {
        self.fwd.transform_coords(pts).map_err(crs_err)?;
        Ok(())
    }
}

/// 4-parameter plane similarity (平面四参数) local grid → EPSG:4548, in the Chinese survey
/// convention of cadastra-crs's `4p` files: with X = north, Y = east,
/// X' = ΔX + k(X cos α − Y sin α), Y' = ΔY + k(X sin α + Y cos α); `dx` = ΔY (easting shift),
/// `dy` = ΔX (northing shift), `scale` = k, `rotation` = α in arc-seconds (PROJ
/// `+proj=helmert +x=dx +y=dy +s=scale +theta=rotation` on easting-first coordinates).
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Similarity {
    pub dx: f64,
    pub dy: f64,
    /// scale factor k (not ppm)
    pub scale: f64,
    /// rotation α in arc-seconds
    pub rotation: f64,
}

impl Similarity {
    fn cs(&self) -> (f64, f64) {
        let a = (self.rotation / 3600.0).to_radians();
        (a.cos(), a.sin())
    }
    /// local → EPSG:4548 (easting first)
    pub fn forward(&self, c: Coord<f64>) -> Coord<f64> {
        let (co, si) = self.cs();
        let (e, n) = (c.x, c.y);
        Coord {
            x: self.dx + self.scale * (n * si + e * co),
            y: self.dy + self.scale * (n * co - e * si),
        }
    }
    /// EPSG:4548 → local
    pub fn inverse(&self, c: Coord<f64>) -> Coord<f64> {
        let (co, si) = self.cs();
        let (e, n) = ((c.x - self.dx) / self.scale, (c.y - self.dy) / self.scale);
        Coord {
            x: e * co - n * si,
            y: e * si + n * co,
        }
    }
}

/// ESRI WKT of EPSG:2384 as ArcGIS writes it (`gdalsrsinfo -o wkt_esri EPSG:2384`, one line).
pub const XIAN80_CM117_ESRI: &str = "PROJCS[\"Xian_1980_3_Degree_GK_CM_117E\",GEOGCS[\"GCS_Xian_1980\",DATUM[\"D_Xian_1980\",SPHEROID[\"Xian_1980\",6378140.0,298.257]],PRIMEM[\"Greenwich\",0.0],UNIT[\"Degree\",0.0174532925199433]],PROJECTION[\"Gauss_Kruger\"],PARAMETER[\"False_Easting\",500000.0],PARAMETER[\"False_Northing\",0.0],PARAMETER[\"Central_Meridian\",117.0],PARAMETER[\"Scale_Factor\",1.0],PARAMETER[\"Latitude_Of_Origin\",0.0],UNIT[\"Meter\",1.0]]";

/// False-easting zone prefix of EPSG:2363 (3-degree zone 39).
pub const ZONE39: f64 = 39_000_000.0;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn legacy_round_trip_is_sub_millimetre_and_shift_is_tens_of_metres() {
        let x = Xian80::new(&XIAN80_TO_CGCS2000.operation().unwrap()).unwrap();
        let truth = vec![
            Coord {
                x: 540_123.457,
                y: 4_005_321.123,
            },
            Coord {
                x: 559_999.999,
                y: 4_024_999.999,
            },
            Coord {
                x: 579_000.0,
                y: 3_985_500.0,
            },
        ];
        let mut p = truth.clone();
        x.to_legacy(&mut p).unwrap();
        for (a, b) in p.iter().zip(&truth) {
            let d = ((a.x - b.x).powi(2) + (a.y - b.y).powi(2)).sqrt();
            assert!((5.0..200.0).contains(&d), "legacy shift {d} m");
        }
        x.to_true(&mut p).unwrap();
        for (a, b) in p.iter().zip(&truth) {
            assert!(
                (a.x - b.x).abs() < 1e-6 && (a.y - b.y).abs() < 1e-6,
                "{a:?} {b:?}"
            );
        }
    }

    #[test]
    fn similarity_inverts() {
        let s = Similarity {
            dx: 560_000.0,
            dy: 3_990_000.0,
            scale: 1.000_021,
            rotation: 5000.0,
        };
        let c = Coord {
            x: 3000.5,
            y: 4200.25,
        };
        let b = s.inverse(s.forward(c));
        assert!((b.x - c.x).abs() < 1e-9 && (b.y - c.y).abs() < 1e-9);
    }
}
