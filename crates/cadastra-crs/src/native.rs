//! A native fast path for the pipelines cadastra builds itself, numerically a port of PROJ 9.1:
//! `tmerc` (the default "exact" Poder/Engsager extended transverse Mercator, tmerc.cpp), `cart`
//! (cart.cpp, with its one-step Bowring inverse), `helmert` (helmert.cpp: 3/7 parameters with
//! the linearised or `+exact` rotation matrix in both conventions, and the 2-D 4-parameter form
//! with `+theta`) and `noop`.
//!
//! [`Native::parse`] understands only those steps with the keys cadastra writes; anything else
//! gives `None` and the caller stays on PROJ. Even when parsed, an operation only uses the native
//! path after [`Native::verify`] agreed with PROJ on sample grids (the operation module does that).
//!
//! Per coordinate, [`Native::trans`] works only inside a conservative domain (well away from the
//! poles, the projection's edge and the Earth's axis) and reports the first coordinate it does not
//! handle: the caller hands that coordinate and the rest of the run to PROJ, so PROJ's own failure
//! semantics (which coordinates fail, with which message) apply unchanged.
//!
//! The parameters are secret: [`Native`]'s `Debug` prints nothing of them.

use crate::pj::Direction;
use geo_types::Coord;
use std::f64::consts::PI;
use std::fmt;

const DEG: f64 = PI / 180.0;
const ARCSEC: f64 = DEG / 3600.0;
const ORDER: usize = 6;
/// PROJ's limit on the normalised easting of the exact tmerc (150 degrees).
const TMERC_CE_MAX: f64 = 2.623395162778;
/// What the native path accepts: a bit less than PROJ's limits, so that PROJ judges every edge.
const SAFE_CE: f64 = 2.5;
const SAFE_LAT: f64 = 1.55; // about 88.8 degrees
const SAFE_DLON: f64 = 1.5; // about 86 degrees from the central meridian

/// `a <= b`, false when either is NaN.
#[inline]
pub(crate) fn le(a: f64, b: f64) -> bool {
    a <= b
}

/// An ellipsoid as PROJ derives it from `+a` and `+rf`.
#[derive(Clone, Copy)]
struct Ellipsoid {
    a: f64,
    f: f64,
    es: f64,
    /// second eccentricity squared, `tan²(asin e)` as PROJ computes it
    e2s: f64,
    /// third flattening, `tan²(asin(e)/2)` as PROJ computes it
    n: f64,
}

impl Ellipsoid {
    fn from_a_rf(a: f64, rf: f64) -> Option<Ellipsoid> {
        if !(a > 0.0 && rf > 1.0 && a.is_finite() && rf.is_finite()) {
            return None;
        }
        // PROJ ellipsoid.cpp: f = 1/rf, es = 2f - f²
        let f = 1.0 / rf;
        let es = 2.0 * f - f * f;
        // pj_calc_ellipsoid_params: angular eccentricity and what derives from it
        let alpha = es.sqrt().asin();
        let e2 = alpha.tan();
        let n = (alpha / 2.0).tan().powi(2);
        Some(Ellipsoid {
            a,
            f,
            es,
            e2s: e2 * e2,
            n,
        })
    }

    fn named(name: &str) -> Option<Ellipsoid> {
        match name {
            "krass" => Ellipsoid::from_a_rf(6_378_245.0, 298.3),
            "GRS80" => Ellipsoid::from_a_rf(6_378_137.0, 298.257_222_101),
            "WGS84" => Ellipsoid::from_a_rf(6_378_137.0, 298.257_223_563),
            "IAU76" => Ellipsoid::from_a_rf(6_378_140.0, 298.257),
            _ => None,
        }
    }
}

/// tmerc.cpp, `setup_exact` and the unit handling of `pj_fwd`/`pj_inv`.
#[derive(Clone)]
struct Tmerc {
    a: f64,
    ra: f64,
    lam0: f64,
    x0: f64,
    y0: f64,
    qn: f64,
    zb: f64,
    cgb: [f64; ORDER],
    cbg: [f64; ORDER],
    utg: [f64; ORDER],
    gtu: [f64; ORDER],
}

/// Clenshaw summation of a real series of sines of even multiples (`gatg` in tmerc.cpp).
#[inline]
fn gatg(p: &[f64; ORDER], b: f64, cos_2b: f64, sin_2b: f64) -> f64 {
    let two_cos_2b = 2.0 * cos_2b;
    let mut h1 = p[ORDER - 1];
    let mut h2 = 0.0;
    let mut h = 0.0;
    for &c in p[..ORDER - 1].iter().rev() {
        h = -h2 + two_cos_2b * h1 + c;
        h2 = h1;
        h1 = h;
    }
    b + h * sin_2b
}

/// Complex Clenshaw summation (`clenS` in tmerc.cpp); returns (real, imaginary).
#[inline]
fn clen_s(a: &[f64; ORDER], sin_r: f64, cos_r: f64, sinh_i: f64, cosh_i: f64) -> (f64, f64) {
    let r = 2.0 * cos_r * cosh_i;
    let i = -2.0 * sin_r * sinh_i;
    let (mut hr, mut hr1, mut hi, mut hi1) = (a[ORDER - 1], 0.0, 0.0, 0.0);
    for &c in a[..ORDER - 1].iter().rev() {
        let hr2 = hr1;
        let hi2 = hi1;
        hr1 = hr;
        hi1 = hi;
        hr = -hr2 + r * hr1 - i * hi1 + c;
        hi = -hi2 + i * hr1 + r * hi1;
    }
    let r = sin_r * cosh_i;
    let i = cos_r * sinh_i;
    (r * hr - i * hi, r * hi + i * hr)
}

/// Real Clenshaw summation (`clens` in tmerc.cpp).
fn clens(a: &[f64; ORDER], arg_r: f64) -> f64 {
    let r = 2.0 * arg_r.cos();
    let mut hr1 = 0.0;
    let mut hr = a[ORDER - 1];
    for &c in a[..ORDER - 1].iter().rev() {
        let hr2 = hr1;
        hr1 = hr;
        hr = -hr2 + r * hr1 + c;
    }
    arg_r.sin() * hr
}

impl Tmerc {
    fn new(e: Ellipsoid, lat0: f64, lon0: f64, k0: f64, x0: f64, y0: f64) -> Option<Tmerc> {
        if e.es <= 0.0 || !le(f64::MIN_POSITIVE, k0) {
            return None;
        }
        let n = e.n;
        let mut np = n;
        let mut cgb = [0.0; ORDER];
        let mut cbg = [0.0; ORDER];
        let mut utg = [0.0; ORDER];
        let mut gtu = [0.0; ORDER];
        cgb[0] = n
            * (2.0
                + n * (-2.0 / 3.0
                    + n * (-2.0 + n * (116.0 / 45.0 + n * (26.0 / 45.0 + n * (-2854.0 / 675.0))))));
        cbg[0] = n
            * (-2.0
                + n * (2.0 / 3.0
                    + n * (4.0 / 3.0
                        + n * (-82.0 / 45.0 + n * (32.0 / 45.0 + n * (4642.0 / 4725.0))))));
        np *= n;
        cgb[1] = np
            * (7.0 / 3.0
                + n * (-8.0 / 5.0
                    + n * (-227.0 / 45.0 + n * (2704.0 / 315.0 + n * (2323.0 / 945.0)))));
        cbg[1] = np
            * (5.0 / 3.0
                + n * (-16.0 / 15.0
                    + n * (-13.0 / 9.0 + n * (904.0 / 315.0 + n * (-1522.0 / 945.0)))));
        np *= n;
        cgb[2] = np
            * (56.0 / 15.0 + n * (-136.0 / 35.0 + n * (-1262.0 / 105.0 + n * (73814.0 / 2835.0))));
        cbg[2] =
            np * (-26.0 / 15.0 + n * (34.0 / 21.0 + n * (8.0 / 5.0 + n * (-12686.0 / 2835.0))));
        np *= n;
        cgb[3] = np * (4279.0 / 630.0 + n * (-332.0 / 35.0 + n * (-399572.0 / 14175.0)));
        cbg[3] = np * (1237.0 / 630.0 + n * (-12.0 / 5.0 + n * (-24832.0 / 14175.0)));
        np *= n;
        cgb[4] = np * (4174.0 / 315.0 + n * (-144838.0 / 6237.0));
        cbg[4] = np * (-734.0 / 315.0 + n * (109598.0 / 31185.0));
        np *= n;
        cgb[5] = np * (601676.0 / 22275.0);
        cbg[5] = np * (444337.0 / 155925.0);

        np = n * n;
        let qn = k0 / (1.0 + n) * (1.0 + np * (1.0 / 4.0 + np * (1.0 / 64.0 + np / 256.0)));
        utg[0] = n
            * (-0.5
                + n * (2.0 / 3.0
                    + n * (-37.0 / 96.0
                        + n * (1.0 / 360.0 + n * (81.0 / 512.0 + n * (-96199.0 / 604800.0))))));
        gtu[0] = n
            * (0.5
                + n * (-2.0 / 3.0
                    + n * (5.0 / 16.0
                        + n * (41.0 / 180.0 + n * (-127.0 / 288.0 + n * (7891.0 / 37800.0))))));
        utg[1] = np
            * (-1.0 / 48.0
                + n * (-1.0 / 15.0
                    + n * (437.0 / 1440.0 + n * (-46.0 / 105.0 + n * (1118711.0 / 3870720.0)))));
        gtu[1] = np
            * (13.0 / 48.0
                + n * (-3.0 / 5.0
                    + n * (557.0 / 1440.0 + n * (281.0 / 630.0 + n * (-1983433.0 / 1935360.0)))));
        np *= n;
        utg[2] = np
            * (-17.0 / 480.0 + n * (37.0 / 840.0 + n * (209.0 / 4480.0 + n * (-5569.0 / 90720.0))));
        gtu[2] = np
            * (61.0 / 240.0
                + n * (-103.0 / 140.0 + n * (15061.0 / 26880.0 + n * (167603.0 / 181440.0))));
        np *= n;
        utg[3] = np * (-4397.0 / 161280.0 + n * (11.0 / 504.0 + n * (830251.0 / 7257600.0)));
        gtu[3] = np * (49561.0 / 161280.0 + n * (-179.0 / 168.0 + n * (6601661.0 / 7257600.0)));
        np *= n;
        utg[4] = np * (-4583.0 / 161280.0 + n * (108847.0 / 3991680.0));
        gtu[4] = np * (34729.0 / 80640.0 + n * (-3418889.0 / 1995840.0));
        np *= n;
        utg[5] = np * (-20648693.0 / 638668800.0);
        gtu[5] = np * (212378941.0 / 319334400.0);

        let phi0 = lat0 * DEG;
        let z = gatg(&cbg, phi0, (2.0 * phi0).cos(), (2.0 * phi0).sin());
        let zb = -qn * (z + clens(&gtu, 2.0 * z));
        Some(Tmerc {
            a: e.a,
            ra: 1.0 / e.a,
            lam0: lon0 * DEG,
            x0,
            y0,
            qn,
            zb,
            cgb,
            cbg,
            utg,
            gtu,
        })
    }

    /// Longitude, latitude (radians) to easting, northing (metres); `None` outside the safe domain.
    #[inline]
    fn fwd(&self, lam: f64, phi: f64) -> Option<(f64, f64)> {
        let lam = lam - self.lam0;
        if !(phi.abs() <= SAFE_LAT && lam.abs() <= SAFE_DLON) {
            return None;
        }
        let cn = gatg(&self.cbg, phi, (2.0 * phi).cos(), (2.0 * phi).sin());
        let (sin_cn, cos_cn) = (cn.sin(), cn.cos());
        let (sin_ce, cos_ce) = (lam.sin(), lam.cos());
        let cos_cn_cos_ce = cos_cn * cos_ce;
        let cn = sin_cn.atan2(cos_cn_cos_ce);
        let inv_denom_tan_ce = 1.0 / sin_cn.hypot(cos_cn_cos_ce);
        let tan_ce = sin_ce * cos_cn * inv_denom_tan_ce;
        let ce = tan_ce.asinh();
        // sin/cos(2 Cn) and sinh/cosh(2 Ce) from the values at hand, as PROJ 9 does
        let two_inv_denom_tan_ce = 2.0 * inv_denom_tan_ce;
        let two_inv_denom_tan_ce_square = two_inv_denom_tan_ce * inv_denom_tan_ce;
        let tmp_r = cos_cn_cos_ce * two_inv_denom_tan_ce_square;
        let sin_arg_r = sin_cn * tmp_r;
        let cos_arg_r = cos_cn_cos_ce * tmp_r - 1.0;
        let sinh_arg_i = tan_ce * two_inv_denom_tan_ce;
        let cosh_arg_i = two_inv_denom_tan_ce_square - 1.0;
        let (dcn, dce) = clen_s(&self.gtu, sin_arg_r, cos_arg_r, sinh_arg_i, cosh_arg_i);
        let cn = cn + dcn;
        let ce = ce + dce;
        if !(ce.abs() <= SAFE_CE && ce.abs() <= TMERC_CE_MAX) {
            return None;
        }
        let y = self.qn * cn + self.zb;
        let x = self.qn * ce;
        Some((self.a * x + self.x0, self.a * y + self.y0))
    }

    /// Easting, northing (metres) to longitude, latitude (radians).
    #[inline]
    fn inv(&self, x: f64, y: f64) -> Option<(f64, f64)> {
        let x = (x - self.x0) * self.ra;
        let y = (y - self.y0) * self.ra;
        let cn = (y - self.zb) / self.qn;
        let ce = x / self.qn;
        if !le(ce.abs(), SAFE_CE) {
            return None;
        }
        let (sin_arg_r, cos_arg_r) = ((2.0 * cn).sin(), (2.0 * cn).cos());
        let exp_2_ce = (2.0 * ce).exp();
        let half_inv_exp_2_ce = 0.5 / exp_2_ce;
        let sinh_arg_i = 0.5 * exp_2_ce - half_inv_exp_2_ce;
        let cosh_arg_i = 0.5 * exp_2_ce + half_inv_exp_2_ce;
        let (dcn, dce) = clen_s(&self.utg, sin_arg_r, cos_arg_r, sinh_arg_i, cosh_arg_i);
        let cn = cn + dcn;
        let ce = ce + dce;
        let (sin_cn, cos_cn) = (cn.sin(), cn.cos());
        let sinh_ce = ce.sinh();
        let ce = sinh_ce.atan2(cos_cn);
        let modulus_ce = sinh_ce.hypot(cos_cn);
        let cn = sin_cn.atan2(modulus_ce);
        let tmp = 2.0 * modulus_ce / (sinh_ce * sinh_ce + 1.0);
        let sin_2_cn = sin_cn * tmp;
        let cos_2_cn = tmp * modulus_ce - 1.0;
        let phi = gatg(&self.cgb, cn, cos_2_cn, sin_2_cn);
        let lam = ce + self.lam0;
        if !(phi.abs() <= SAFE_LAT && ce.abs() <= SAFE_DLON && lam.abs() < PI) {
            return None;
        }
        Some((lam, phi))
    }
}

/// cart.cpp: geodetic (radians, metres) to geocentric cartesian and back.
#[derive(Clone)]
struct Cart {
    a: f64,
    ra: f64,
    f: f64,
    es: f64,
    /// second eccentricity squared
    e2s: f64,
}

impl Cart {
    fn new(e: Ellipsoid) -> Cart {
        Cart {
            a: e.a,
            ra: 1.0 / e.a,
            f: e.f,
            es: e.es,
            e2s: e.e2s,
        }
    }

    #[inline]
    fn fwd(&self, lam: f64, phi: f64, h: f64) -> Option<[f64; 3]> {
        if !(phi.abs() <= SAFE_LAT && lam.abs() <= 10.0) {
            return None;
        }
        let (sinphi, cosphi) = (phi.sin(), phi.cos());
        let n = self.a / (1.0 - self.es * sinphi * sinphi).sqrt();
        Some([
            (n + h) * cosphi * lam.cos(),
            (n + h) * cosphi * lam.sin(),
            (n * (1.0 - self.es) + h) * sinphi,
        ])
    }

    /// `geodetic()` of cart.cpp (one Bowring step), away from the axis only.
    #[inline]
    fn inv(&self, c: [f64; 3]) -> Option<(f64, f64, f64)> {
        let x_div_a = c[0] * self.ra;
        let y_div_a = c[1] * self.ra;
        let z_div_a = c[2] * self.ra;
        let p_div_a = (x_div_a * x_div_a + y_div_a * y_div_a).sqrt();
        // far from the axis (and the Earth's centre) only: PROJ special-cases those
        if !le(0.01, p_div_a) {
            return None;
        }
        let b_div_a = 1.0 - self.f;
        let p_div_a_b_div_a = p_div_a * b_div_a;
        let inv_norm = 1.0 / (z_div_a * z_div_a + p_div_a_b_div_a * p_div_a_b_div_a).sqrt();
        let cc = p_div_a_b_div_a * inv_norm;
        let s = z_div_a * inv_norm;
        let y_phi = z_div_a + self.e2s * b_div_a * s * s * s;
        let x_phi = p_div_a - self.es * cc * cc * cc;
        if !le(0.01, x_phi) {
            return None;
        }
        let inv_norm_phi = 1.0 / (y_phi * y_phi + x_phi * x_phi).sqrt();
        let cosphi = x_phi * inv_norm_phi;
        let sinphi = y_phi * inv_norm_phi;
        let phi = (y_phi / x_phi).atan();
        if !le(phi.abs(), SAFE_LAT) {
            return None;
        }
        let lam = y_div_a.atan2(x_div_a);
        let n = self.a / (1.0 - self.es * sinphi * sinphi).sqrt();
        Some((lam, phi, self.a * p_div_a / cosphi - n))
    }
}

/// helmert.cpp: 3/7-parameter geocentric Helmert (scale in ppm).
#[derive(Clone)]
struct Helmert3d {
    t: [f64; 3],
    r: [[f64; 3]; 3],
    scale: f64,
}

impl Helmert3d {
    #[inline]
    fn fwd(&self, p: [f64; 3]) -> [f64; 3] {
        let r = &self.r;
        let s = self.scale;
        let [x, y, z] = p;
        [
            s * (r[0][0] * x + r[0][1] * y + r[0][2] * z) + self.t[0],
            s * (r[1][0] * x + r[1][1] * y + r[1][2] * z) + self.t[1],
            s * (r[2][0] * x + r[2][1] * y + r[2][2] * z) + self.t[2],
        ]
    }

    #[inline]
    fn inv(&self, p: [f64; 3]) -> [f64; 3] {
        let r = &self.r;
        let s = self.scale;
        let dx = p[0] - self.t[0];
        let dy = p[1] - self.t[1];
        let dz = p[2] - self.t[2];
        [
            (r[0][0] * dx + r[1][0] * dy + r[2][0] * dz) / s,
            (r[0][1] * dx + r[1][1] * dy + r[2][1] * dz) / s,
            (r[0][2] * dx + r[1][2] * dy + r[2][2] * dz) / s,
        ]
    }
}

/// helmert.cpp with `+theta`: 2-D similarity (`+s` is the factor, theta in arc-seconds).
#[derive(Clone)]
struct Helmert2d {
    tx: f64,
    ty: f64,
    /// cos θ · s and sin θ · s (forward), cos θ / s and sin θ / s (inverse), as PROJ forms them
    fwd_cs: (f64, f64),
    inv_cs: (f64, f64),
}

impl Helmert2d {
    fn new(tx: f64, ty: f64, theta: f64, scale: f64) -> Helmert2d {
        Helmert2d {
            tx,
            ty,
            fwd_cs: (theta.cos() * scale, theta.sin() * scale),
            inv_cs: (theta.cos() / scale, theta.sin() / scale),
        }
    }

    #[inline]
    fn fwd(&self, x: f64, y: f64) -> (f64, f64) {
        let (cr, sr) = self.fwd_cs;
        (cr * x + sr * y + self.tx, -sr * x + cr * y + self.ty)
    }

    #[inline]
    fn inv(&self, x: f64, y: f64) -> (f64, f64) {
        let (cr, sr) = self.inv_cs;
        let x = x - self.tx;
        let y = y - self.ty;
        (x * cr - y * sr, x * sr + y * cr)
    }
}

#[derive(Clone)]
enum Op {
    Tmerc(Tmerc),
    Cart(Cart),
    Helmert3d(Helmert3d),
    Helmert2d(Helmert2d),
}

#[derive(Clone)]
struct Step {
    op: Op,
    inv: bool,
}

/// A coordinate while it travels through the pipeline (PROJ's PJ_COORD: x/lam, y/phi, z).
type Xyz = [f64; 3];

impl Step {
    #[inline]
    fn apply(&self, c: Xyz, inverse: bool) -> Option<Xyz> {
        let inv = self.inv != inverse;
        match &self.op {
            Op::Tmerc(t) => {
                let (u, v) = if inv {
                    t.inv(c[0], c[1])?
                } else {
                    t.fwd(c[0], c[1])?
                };
                Some([u, v, c[2]])
            }
            Op::Cart(k) => {
                if inv {
                    let (l, p, h) = k.inv(c)?;
                    Some([l, p, h])
                } else {
                    k.fwd(c[0], c[1], c[2])
                }
            }
            Op::Helmert3d(h) => Some(if inv { h.inv(c) } else { h.fwd(c) }),
            Op::Helmert2d(h) => {
                let (u, v) = if inv {
                    h.inv(c[0], c[1])
                } else {
                    h.fwd(c[0], c[1])
                };
                Some([u, v, c[2]])
            }
        }
    }
}

/// A pipeline evaluated natively. Parameter values are secret: `Debug` shows none of them.
#[derive(Clone)]
pub(crate) struct Native {
    steps: Vec<Step>,
}

impl Drop for Native {
    /// The Helmert steps hold the secret parameters: overwrite them, like the pipeline text.
    fn drop(&mut self) {
        for s in &mut self.steps {
            match &mut s.op {
                Op::Helmert3d(h) => {
                    h.t = [0.0; 3];
                    h.r = [[0.0; 3]; 3];
                    h.scale = 0.0;
                }
                Op::Helmert2d(h) => {
                    h.tx = 0.0;
                    h.ty = 0.0;
                    h.fwd_cs = (0.0, 0.0);
                    h.inv_cs = (0.0, 0.0);
                }
                Op::Tmerc(_) | Op::Cart(_) => {}
            }
        }
        std::hint::black_box(&self.steps);
    }
}

impl fmt::Debug for Native {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Native(<{} steps, redacted>)", self.steps.len())
    }
}

/// `+key=value` tokens of one step, each key at most once.
struct Params<'a> {
    kv: Vec<(&'a str, Option<&'a str>)>,
}

impl<'a> Params<'a> {
    fn get(&self, key: &str) -> Option<Option<&'a str>> {
        self.kv.iter().find(|(k, _)| *k == key).map(|(_, v)| *v)
    }

    /// A number, `Ok(None)` if absent, `Err` if malformed.
    fn num(&self, key: &str) -> Result<Option<f64>, ()> {
        match self.get(key) {
            None => Ok(None),
            Some(Some(v)) => v.parse::<f64>().map(Some).map_err(|_| ()),
            Some(None) => Err(()),
        }
    }

    fn only(&self, allowed: &[&str]) -> bool {
        self.kv.iter().all(|(k, _)| allowed.contains(k))
    }

    fn ellipsoid(&self) -> Option<Ellipsoid> {
        match (self.get("ellps"), self.num("a").ok()?, self.num("rf").ok()?) {
            (Some(Some(name)), None, None) => Ellipsoid::named(name),
            (None, Some(a), Some(rf)) => Ellipsoid::from_a_rf(a, rf),
            _ => None,
        }
    }
}

const ELLIPSOID_KEYS: [&str; 3] = ["ellps", "a", "rf"];

fn parse_step(proj: &str, p: &Params<'_>) -> Option<Option<Op>> {
    let with_ell = |keys: &[&str]| {
        let mut all: Vec<&str> = keys.to_vec();
        all.extend(ELLIPSOID_KEYS);
        all.push("proj");
        p.only(&all)
    };
    match proj {
        "noop" => p.only(&["proj"]).then_some(None),
        "tmerc" => {
            if !with_ell(&["lat_0", "lon_0", "k", "k_0", "x_0", "y_0", "units"]) {
                return None;
            }
            if p.get("units").is_some_and(|u| u != Some("m")) {
                return None;
            }
            if p.get("k").is_some() && p.get("k_0").is_some() {
                return None;
            }
            let k0 = match (p.num("k").ok()?, p.num("k_0").ok()?) {
                (Some(k), _) | (None, Some(k)) => k,
                (None, None) => 1.0,
            };
            let t = Tmerc::new(
                p.ellipsoid()?,
                p.num("lat_0").ok()?.unwrap_or(0.0),
                p.num("lon_0").ok()?.unwrap_or(0.0),
                k0,
                p.num("x_0").ok()?.unwrap_or(0.0),
                p.num("y_0").ok()?.unwrap_or(0.0),
            )?;
            Some(Some(Op::Tmerc(t)))
        }
        "cart" => {
            if !with_ell(&[]) {
                return None;
            }
            Some(Some(Op::Cart(Cart::new(p.ellipsoid()?))))
        }
        "helmert" => {
            let keys = [
                "proj",
                "x",
                "y",
                "z",
                "rx",
                "ry",
                "rz",
                "s",
                "theta",
                "convention",
                "exact",
            ];
            if !p.only(&keys) {
                return None;
            }
            let n = |k: &str| p.num(k).map(|v| v.unwrap_or(0.0));
            let (x, y, z) = (n("x").ok()?, n("y").ok()?, n("z").ok()?);
            let (rx, ry, rz) = (n("rx").ok()?, n("ry").ok()?, n("rz").ok()?);
            let s = p.num("s").ok()?;
            if p.get("exact").is_some_and(|v| v.is_some()) {
                return None;
            }
            let exact = p.get("exact").is_some();
            if p.get("theta").is_some() {
                // 2-D: only x, y, s (the factor) and theta
                if p.get("z").is_some()
                    || p.get("rx").is_some()
                    || p.get("ry").is_some()
                    || p.get("rz").is_some()
                    || p.get("convention").is_some()
                    || exact
                {
                    return None;
                }
                let scale = s?;
                if !le(f64::MIN_POSITIVE, scale) {
                    return None;
                }
                let theta = p.num("theta").ok()?? * ARCSEC;
                return Some(Some(Op::Helmert2d(Helmert2d::new(x, y, theta, scale))));
            }
            let rotated = [rx, ry, rz].iter().any(|r| *r != 0.0);
            let position_vector = match p.get("convention") {
                Some(Some("position_vector")) => true,
                Some(Some("coordinate_frame")) => false,
                None if !rotated => false,
                _ => return None,
            };
            let s = s.unwrap_or(0.0);
            if s <= -1.0e6 {
                return None;
            }
            let (f, t, k) = (rx * ARCSEC, ry * ARCSEC, rz * ARCSEC);
            let mut r = if exact {
                let (sf, cf) = f.sin_cos();
                let (st, ct) = t.sin_cos();
                let (sp, cp) = k.sin_cos();
                [
                    [ct * cp, cf * sp + sf * st * cp, sf * sp - cf * st * cp],
                    [-ct * sp, cf * cp - sf * st * sp, sf * cp + cf * st * sp],
                    [st, -sf * ct, cf * ct],
                ]
            } else {
                [[1.0, k, -t], [-k, 1.0, f], [t, -f, 1.0]]
            };
            if position_vector {
                for (i, j) in [(0, 1), (0, 2), (1, 2)] {
                    let v = r[i][j];
                    r[i][j] = r[j][i];
                    r[j][i] = v;
                }
            }
            Some(Some(Op::Helmert3d(Helmert3d {
                t: [x, y, z],
                r,
                scale: 1.0 + s * 1e-6,
            })))
        }
        _ => None,
    }
}

impl Native {
    /// The native form of a pipeline definition, or `None` when it has anything this module does
    /// not implement exactly like PROJ.
    pub(crate) fn parse(def: &str) -> Option<Native> {
        let tokens: Vec<&str> = def.split_whitespace().collect();
        let groups: Vec<&[&str]> = if tokens.first() == Some(&"+proj=pipeline") {
            let rest = tokens.get(1..)?;
            if rest.first() != Some(&"+step") {
                return None;
            }
            rest.split(|t| *t == "+step").skip(1).collect()
        } else {
            vec![&tokens[..]]
        };
        let mut steps = Vec::new();
        for g in groups {
            let mut kv = Vec::new();
            let mut inv = false;
            for t in g {
                let t = t.strip_prefix('+')?;
                if t == "inv" {
                    if inv {
                        return None;
                    }
                    inv = true;
                    continue;
                }
                let (k, v) = match t.split_once('=') {
                    Some((k, v)) => (k, Some(v)),
                    None => (t, None),
                };
                if kv.iter().any(|(q, _)| *q == k) {
                    return None;
                }
                kv.push((k, v));
            }
            let params = Params { kv };
            let proj = params.get("proj")??;
            if let Some(op) = parse_step(proj, &params)? {
                steps.push(Step { op, inv });
            }
        }
        Some(Native { steps })
    }

    /// Transform one coordinate (height 0); `None` when it is not in the native domain.
    #[inline]
    pub(crate) fn point(&self, c: Coord<f64>, dir: Direction) -> Option<Coord<f64>> {
        let mut p: Xyz = [c.x, c.y, 0.0];
        match dir {
            Direction::Forward => {
                for s in &self.steps {
                    p = s.apply(p, false)?;
                }
            }
            Direction::Inverse => {
                for s in self.steps.iter().rev() {
                    p = s.apply(p, true)?;
                }
            }
        }
        (p[0].is_finite() && p[1].is_finite()).then_some(Coord { x: p[0], y: p[1] })
    }

    /// Transform coordinates in place up to the first one outside the native domain; returns its
    /// index (`coords.len()` when all were done). Coordinates from that index on are untouched.
    pub(crate) fn trans(&self, coords: &mut [Coord<f64>], dir: Direction) -> usize {
        for (i, c) in coords.iter_mut().enumerate() {
            match self.point(*c, dir) {
                Some(t) => *c = t,
                None => return i,
            }
        }
        coords.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_what_cadastra_builds_and_nothing_else() {
        let t = "+proj=tmerc +lat_0=0 +lon_0=117 +k=1 +x_0=500000 +y_0=0 +units=m +a=6378137 +rf=298.257222101";
        assert!(Native::parse(&format!("+proj=pipeline +step +inv {t} +step {t}")).is_some());
        assert!(Native::parse("+proj=noop").is_some());
        assert!(
            Native::parse("+proj=pipeline +step +proj=helmert +x=1 +y=2 +s=1.0001 +theta=3")
                .is_some()
        );
        for bad in [
            "+proj=pipeline +step +proj=axisswap +order=2,1",
            "+proj=pipeline +step +proj=tmerc +lon_0=117 +R=6371000",
            "+proj=pipeline +step +proj=tmerc +lon_0=117 +ellps=GRS80 +approx",
            "+proj=pipeline +step +proj=helmert +x=1 +rx=1 +s=1",
            "+proj=pipeline +step +proj=helmert +x=1 +dx=1",
            "+proj=pipeline +step +proj=cart +ellps=GRS80 +ellps=krass",
            "+proj=utm +zone=50 +ellps=GRS80",
            "",
        ] {
            assert!(Native::parse(bad).is_none(), "{bad}");
        }
    }

    #[test]
    fn debug_shows_no_parameters() {
        let n = Native::parse("+proj=pipeline +step +proj=helmert +x=24.815 +y=2 +s=1.5 +theta=3")
            .unwrap();
        let d = format!("{n:?}");
        assert!(!d.contains("24.815") && d.contains("redacted"), "{d}");
    }
}
