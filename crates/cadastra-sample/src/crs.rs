//! Legacy coordinates: the invented Xi'an-80 → CGCS2000 7-parameter operation (an explicit PROJ
//! pipeline, run backwards and refined against the forward so that the forward operation gets
//! the true coordinates back to well under a millimetre), and the 房地一体 local grid
//! (4-parameter plane similarity).

use crate::SampleError;
use geo_types::Coord;
use proj::Proj;
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

/// Xi'an 1980 ellipsoid (IAG-75).
const XIAN80_ELLPS: &str = "+a=6378140 +rf=298.257";
const GK117: &str = "+proj=tmerc +lat_0=0 +lon_0=117 +k=1 +x_0=500000 +y_0=0";

impl Bursa {
    fn helmert(&self) -> String {
        format!(
            "+proj=helmert +x={} +y={} +z={} +rx={} +ry={} +rz={} +s={} +convention=position_vector",
            self.tx, self.ty, self.tz, self.rx, self.ry, self.rz, self.ds_ppm
        )
    }
    /// PROJ pipeline EPSG:2384 (Xi'an 80 GK CM 117E) → EPSG:4548, easting first.
    pub fn forward_pipeline(&self) -> String {
        format!(
            "+proj=pipeline +step +inv {GK117} {XIAN80_ELLPS} +step +proj=cart {XIAN80_ELLPS} \
             +step {} +step +inv +proj=cart +ellps=GRS80 +step {GK117} +ellps=GRS80",
            self.helmert()
        )
    }
    /// The reverse pipeline EPSG:4548 → EPSG:2384.
    pub fn inverse_pipeline(&self) -> String {
        format!(
            "+proj=pipeline +step +inv {GK117} +ellps=GRS80 +step +proj=cart +ellps=GRS80 \
             +step +inv {} +step +inv +proj=cart {XIAN80_ELLPS} +step {GK117} {XIAN80_ELLPS}",
            self.helmert()
        )
    }
}

/// A per-thread converter between true CGCS2000 and legacy Xi'an-80 plane coordinates.
pub struct Xian80 {
    fwd: Proj,
    inv: Proj,
}

fn proj(def: &str) -> Result<Proj, SampleError> {
    Proj::new(def).map_err(|e| SampleError::Crs(format!("{def}: {e}")))
}

impl Xian80 {
    pub fn new(b: &Bursa) -> Result<Xian80, SampleError> {
        Ok(Xian80 { fwd: proj(&b.forward_pipeline())?, inv: proj(&b.inverse_pipeline())? })
    }
    /// True EPSG:4548 → legacy EPSG:2384, in place. One Newton step against the forward
    /// pipeline removes the small-angle asymmetry of PROJ's inverse Helmert.
    pub fn to_legacy(&self, pts: &mut [Coord<f64>]) -> Result<(), SampleError> {
        let truth: Vec<Coord<f64>> = pts.to_vec();
        self.inv.convert_array(pts).map_err(|e| SampleError::Crs(e.to_string()))?;
        let mut back: Vec<Coord<f64>> = pts.to_vec();
        self.fwd.convert_array(&mut back).map_err(|e| SampleError::Crs(e.to_string()))?;
        for ((p, t), b) in pts.iter_mut().zip(&truth).zip(&back) {
            p.x += t.x - b.x;
            p.y += t.y - b.y;
        }
        Ok(())
    }
    /// Legacy EPSG:2384 → true EPSG:4548, in place (what a pipeline does).
    pub fn to_true(&self, pts: &mut [Coord<f64>]) -> Result<(), SampleError> {
        self.fwd.convert_array(pts).map_err(|e| SampleError::Crs(e.to_string()))?;
        Ok(())
    }
}

/// 4-parameter plane similarity local grid → EPSG:4548 (easting first):
/// E' = dE + k(E cos a − N sin a), N' = dN + k(E sin a + N cos a); PROJ
/// `+proj=helmert +x=dE +y=dN +s=k +theta=a″`.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Similarity {
    pub de: f64,
    pub dn: f64,
    /// scale factor k (not ppm)
    pub k: f64,
    /// rotation in arc-seconds, counter-clockwise
    pub theta_arcsec: f64,
}

impl Similarity {
    fn cs(&self) -> (f64, f64) {
        let a = (self.theta_arcsec / 3600.0).to_radians();
        (a.cos(), a.sin())
    }
    /// local → EPSG:4548
    pub fn forward(&self, c: Coord<f64>) -> Coord<f64> {
        let (co, si) = self.cs();
        Coord {
            x: self.de + self.k * (c.x * co - c.y * si),
            y: self.dn + self.k * (c.x * si + c.y * co),
        }
    }
    /// EPSG:4548 → local
    pub fn inverse(&self, c: Coord<f64>) -> Coord<f64> {
        let (co, si) = self.cs();
        let (e, n) = (c.x - self.de, c.y - self.dn);
        Coord { x: (e * co + n * si) / self.k, y: (-e * si + n * co) / self.k }
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
        let x = Xian80::new(&XIAN80_TO_CGCS2000).unwrap();
        let truth = vec![
            Coord { x: 540_123.457, y: 4_005_321.123 },
            Coord { x: 559_999.999, y: 4_024_999.999 },
            Coord { x: 579_000.0, y: 3_985_500.0 },
        ];
        let mut p = truth.clone();
        x.to_legacy(&mut p).unwrap();
        for (a, b) in p.iter().zip(&truth) {
            let d = ((a.x - b.x).powi(2) + (a.y - b.y).powi(2)).sqrt();
            assert!((5.0..200.0).contains(&d), "legacy shift {d} m");
        }
        x.to_true(&mut p).unwrap();
        for (a, b) in p.iter().zip(&truth) {
            assert!((a.x - b.x).abs() < 1e-6 && (a.y - b.y).abs() < 1e-6, "{a:?} {b:?}");
        }
    }

    #[test]
    fn similarity_inverts() {
        let s = Similarity { de: 560_000.0, dn: 3_990_000.0, k: 1.000_021, theta_arcsec: 5000.0 };
        let c = Coord { x: 3000.5, y: 4200.25 };
        let b = s.inverse(s.forward(c));
        assert!((b.x - c.x).abs() < 1e-9 && (b.y - c.y).abs() < 1e-9);
    }
}
