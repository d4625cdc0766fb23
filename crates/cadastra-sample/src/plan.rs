//! The world plan: districts → 地籍区 → 地籍子区 with parcel counts, rows, rectangles (placed in
//! shelves with roads between them) and which parcel carries which planted defect. Planning is
//! sequential and cheap; everything after it runs per sub-zone and in parallel.

use crate::SampleError;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// Where a record comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Source {
    /// 莱城区 (371202), vendor A
    Laiwu,
    /// 钢城区 (371203), vendor B
    Gangcheng,
    /// 章丘区 (370114), Jinan's registry
    Jinan,
}

impl Source {
    /// Admin code used in keys.
    pub fn code(self) -> &'static str {
        match self {
            Source::Laiwu => "371202",
            Source::Gangcheng => "371203",
            Source::Jinan => "370114",
        }
    }
    /// Name used in truth files (`laiwu`, `gangcheng`, `jinan`).
    pub fn name(self) -> &'static str {
        match self {
            Source::Laiwu => "laiwu",
            Source::Gangcheng => "gangcheng",
            Source::Jinan => "jinan",
        }
    }
    fn tag(self) -> u64 {
        match self {
            Source::Laiwu => 0x11,
            Source::Gangcheng => 0x22,
            Source::Jinan => 0x33,
        }
    }
}

/// What a sub-zone holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// state construction land with buildings (GB, QLLX 3/4)
    Town,
    /// homesteads (JC, QLLX 5/6) and some collective construction land (JB, QLLX 7/8)
    Village,
    /// contracted farmland (JD, QLLX 9)
    Farm,
    /// forest land (JE QLLX 10, JL QLLX 11/12)
    Forest,
}

impl Kind {
    /// (row height, mean parcel width, parcels min, parcels max), unscaled metres.
    fn dims(self) -> ((f64, f64), (f64, f64), u32, u32) {
        match self {
            Kind::Town => ((28.0, 45.0), (18.0, 40.0), 100, 350),
            Kind::Village => ((15.0, 21.0), (11.0, 16.0), 100, 350),
            Kind::Farm => ((50.0, 110.0), (8.0, 18.0), 80, 300),
            Kind::Forest => ((70.0, 140.0), (25.0, 60.0), 30, 120),
        }
    }
}

/// A planted defect (rule ids of domain-brief §6).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Defect {
    Topo01,
    Topo02,
    Geom01,
    Topo04,
    Unit07,
    Area01,
    Area06,
    Attr04,
    Link01,
    Link03,
    Unit01,
    Unit02,
    Fmt05,
    Merge03,
}

impl Defect {
    /// Every defect kind, in rule-id order.
    pub const ALL: [Defect; 14] = [
        Defect::Area01,
        Defect::Area06,
        Defect::Attr04,
        Defect::Fmt05,
        Defect::Geom01,
        Defect::Link01,
        Defect::Link03,
        Defect::Merge03,
        Defect::Topo01,
        Defect::Topo02,
        Defect::Topo04,
        Defect::Unit01,
        Defect::Unit02,
        Defect::Unit07,
    ];
    /// The rule id.
    pub fn rule(self) -> &'static str {
        match self {
            Defect::Topo01 => "TOPO-01",
            Defect::Topo02 => "TOPO-02",
            Defect::Geom01 => "GEOM-01",
            Defect::Topo04 => "TOPO-04",
            Defect::Unit07 => "UNIT-07",
            Defect::Area01 => "AREA-01",
            Defect::Area06 => "AREA-06",
            Defect::Attr04 => "ATTR-04",
            Defect::Link01 => "LINK-01",
            Defect::Link03 => "LINK-03",
            Defect::Unit01 => "UNIT-01",
            Defect::Unit02 => "UNIT-02",
            Defect::Fmt05 => "FMT-05",
            Defect::Merge03 => "MERGE-03",
        }
    }
    /// Needs the parcel to the right as an untouched partner.
    fn pair(self) -> bool {
        matches!(self, Defect::Topo01 | Defect::Topo02 | Defect::Unit07)
    }
}

/// Default rate of every defect kind: planted on this share of a source's parcels.
pub const DEFECT_RATE: f64 = 0.01;
/// Each kind is planted at least this often per legacy source (where the source can hold it).
pub const DEFECT_MIN: usize = 2;

/// What a parcel is in the defect plan.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    Clean,
    Defect(Defect),
    /// the untouched neighbour of a pair defect
    Partner(Defect),
    /// top row of a Laiwu sub-zone on the old Jinan border: kept clean for MERGE-03
    Border,
}

/// One 地籍子区.
#[derive(Debug, Clone)]
pub struct Subzone {
    pub source: Source,
    /// a 房地一体 homestead survey sub-zone (钢城区 fdyt/ZJD, local grid)
    pub zjd: bool,
    pub kind: Kind,
    pub djq: u32,
    pub djzq: u32,
    pub town: &'static str,
    /// parcels per row, bottom row first
    pub rows: Vec<u32>,
    pub row_h: f64,
    pub mean_w: f64,
    /// x0, y0, x1, y1 in true CGCS2000 (EPSG:4548) metres
    pub rect: [f64; 4],
    pub roles: Vec<Role>,
    /// phantom rights (LINK-03) registered against parcels of this sub-zone that do not exist
    pub link03: u32,
    pub seed: u64,
    /// on the old Laiwu/Jinan border (Laiwu: top edge on it; Jinan: bottom edge on it)
    pub border: bool,
    /// linear scale applied to the kind's dimensions
    pub scale: f64,
}

impl Subzone {
    pub fn parcels(&self) -> usize {
        self.rows.iter().map(|&n| n as usize).sum()
    }
    /// First parcel index of row `r`.
    pub fn row_start(&self, r: usize) -> usize {
        self.rows[..r].iter().map(|&n| n as usize).sum()
    }
    /// (row, column) of a parcel index.
    pub fn rc(&self, mut i: usize) -> (usize, usize) {
        for (r, &n) in self.rows.iter().enumerate() {
            if i < n as usize {
                return (r, i);
            }
            i -= n as usize;
        }
        (self.rows.len(), 0)
    }
    /// 地籍子区代码 (12 digits).
    pub fn djzqdm(&self) -> String {
        format!("{}{:03}{:03}", self.source.code(), self.djq, self.djzq)
    }
}

/// The whole world before generation.
#[derive(Debug, Clone)]
pub struct Plan {
    pub seed: u64,
    pub laiwu: Vec<Subzone>,
    pub gangcheng: Vec<Subzone>,
    pub jinan: Vec<Subzone>,
    pub scale: f64,
}

/// District windows in true coordinates: x0, y0, x1, y1.
pub const LAIWU_WINDOW: [f64; 4] = [540_000.0, 4_005_000.0, 560_000.0, 4_025_000.0];
pub const GANGCHENG_WINDOW: [f64; 4] = [562_000.0, 3_985_000.0, 580_000.0, 4_000_000.0];
pub const JINAN_WINDOW: [f64; 4] = [540_000.0, 4_025_000.0, 560_000.0, 4_045_000.0];
/// The old Laiwu/Jinan border (northing).
pub const BORDER_N: f64 = 4_025_000.0;

pub(crate) fn mix(a: u64, b: u64) -> u64 {
    // splitmix64 of a combination: independent streams per sub-zone
    let mut z = a ^ b.wrapping_mul(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// Sub-zone sequence of one source: kinds and parcel counts, grouped into 地籍区.
fn subzones_for(source: Source, target: usize, seed: u64, rng: &mut ChaCha8Rng) -> Vec<Subzone> {
    let (shares, towns): (&[(Kind, f64)], &[&'static str]) = match source {
        Source::Laiwu => (
            &[
                (Kind::Town, 0.30),
                (Kind::Village, 0.33),
                (Kind::Farm, 0.28),
                (Kind::Forest, 0.09),
            ],
            crate::names::LAIWU_TOWNS,
        ),
        Source::Gangcheng => (
            &[
                (Kind::Town, 0.38),
                (Kind::Village, 0.30),
                (Kind::Farm, 0.22),
                (Kind::Forest, 0.10),
            ],
            crate::names::GANGCHENG_TOWNS,
        ),
        Source::Jinan => (
            &[(Kind::Town, 0.5), (Kind::Village, 0.5)],
            crate::names::ZHANGQIU_TOWNS,
        ),
    };
    let forced: &[(Kind, bool)] = match source {
        Source::Laiwu => &[
            (Kind::Town, false),
            (Kind::Village, false),
            (Kind::Farm, false),
            (Kind::Forest, false),
        ],
        Source::Gangcheng => &[
            (Kind::Town, false),
            (Kind::Village, false),
            (Kind::Farm, false),
            (Kind::Forest, false),
            (Kind::Village, true),
        ],
        Source::Jinan => &[(Kind::Town, false), (Kind::Village, false)],
    };
    let mut out = Vec::new();
    let mut remaining = target;
    let mut djq = 1u32;
    let mut djzq = 0u32;
    let mut in_djq = rng.random_range(2..=6u32);
    let mut town_i = rng.random_range(0..towns.len());
    while remaining > 0 {
        let k = out.len();
        let (kind, zjd) = if k < forced.len() {
            forced[k]
        } else {
            let mut r: f64 = rng.random();
            let mut kind = shares[shares.len() - 1].0;
            for (kd, w) in shares {
                if r < *w {
                    kind = *kd;
                    break;
                }
                r -= w;
            }
            let zjd = source == Source::Gangcheng && kind == Kind::Village && rng.random_bool(0.2);
            (kind, zjd)
        };
        let ((h0, h1), (w0, w1), n0, n1) = kind.dims();
        let mut n = rng.random_range(n0..=n1) as usize;
        if n > remaining || remaining - n < 30 {
            n = remaining;
        }
        remaining -= n;
        let row_h = rng.random_range(h0..h1);
        let mean_w = rng.random_range(w0..w1);
        let cols = ((n as f64 * row_h / mean_w).sqrt().round() as usize).clamp(1, n.max(1));
        let nrows = n.div_ceil(cols);
        let base = n / nrows;
        let extra = n % nrows;
        let rows: Vec<u32> = (0..nrows)
            .map(|r| (base + usize::from(r < extra)) as u32)
            .collect();
        djzq += 1;
        if djzq > in_djq {
            djq += 1;
            djzq = 1;
            in_djq = rng.random_range(2..=6u32);
            town_i = (town_i + 1) % towns.len();
        }
        out.push(Subzone {
            source,
            zjd,
            kind,
            djq,
            djzq,
            town: towns[town_i],
            roles: vec![Role::Clean; n],
            rows,
            row_h,
            mean_w,
            rect: [0.0; 4],
            link03: 0,
            seed: mix(mix(seed, source.tag()), out.len() as u64),
            border: false,
            scale: 1.0,
        });
    }
    out
}

/// Unscaled footprint of a sub-zone (width, height).
fn footprint(sz: &Subzone, s: f64) -> (f64, f64) {
    let cols = sz.rows.iter().copied().max().unwrap_or(1) as f64;
    let w = (cols * sz.mean_w * s).ceil();
    let h = (sz.rows.len() as f64 * sz.row_h * s).ceil();
    (w, h)
}

/// Road width between sub-zones.
fn road(s: f64) -> f64 {
    (16.0 * s).max(8.0).round()
}

/// Shelf placement. `top_down`: the first shelf's top edge is the window's top (Laiwu's border,
/// Gangcheng); otherwise the first shelf's bottom edge is the window's bottom (Jinan). `align`
/// gives x positions wanted for the first shelf. Returns false when the world does not fit.
fn place(sz: &mut [Subzone], win: [f64; 4], s: f64, top_down: bool, align: &[f64]) -> bool {
    let rd = road(s);
    // shelves: (first index, end index, height)
    let mut shelves: Vec<(usize, usize, f64)> = Vec::new();
    let mut xs = vec![0.0; sz.len()];
    // a sparse world still spreads over the whole district: about sqrt(n) shelves
    let per_shelf = if top_down {
        sz.len()
            .div_ceil((sz.len() as f64).sqrt().ceil() as usize)
            .max(1)
    } else {
        usize::MAX
    };
    let mut i = 0;
    while i < sz.len() {
        let start = i;
        let mut x = win[0] + rd;
        let mut h: f64 = 0.0;
        while i < sz.len() && i - start < per_shelf {
            let (w, hh) = footprint(&sz[i], s);
            let mut xi = x;
            if shelves.is_empty() && i - start < align.len() {
                xi = xi.max(align[i - start]);
            }
            if xi + w > win[2] - rd && i > start {
                break;
            }
            if xi + w > win[2] - rd {
                return false; // one sub-zone wider than the window
            }
            xs[i] = xi;
            x = xi + w + rd;
            h = h.max(hh);
            i += 1;
        }
        shelves.push((start, i, h));
    }
    let used: f64 = shelves.iter().map(|s| s.2).sum::<f64>() + rd * (shelves.len() as f64 + 1.0);
    let height = win[3] - win[1];
    if used > height {
        return false;
    }
    let spare = if top_down {
        (height - used) / shelves.len() as f64
    } else {
        0.0
    };
    let mut y = if top_down { win[3] } else { win[1] };
    for (k, &(a, b, h)) in shelves.iter().enumerate() {
        // spread the sub-zones of a shelf over the window's width (not the aligned first Jinan one)
        let last_x1 = xs[b - 1] + footprint(&sz[b - 1], s).0;
        let slack = if !top_down && k == 0 {
            0.0
        } else {
            (win[2] - rd - last_x1).max(0.0)
        };
        let step = (slack / (b - a) as f64).floor();
        for (j, z) in sz[a..b].iter_mut().enumerate() {
            let (w, hh) = footprint(z, s);
            let x0 = (xs[a + j] + step * j as f64 + (step / 2.0).floor()).round();
            let (y0, y1) = if top_down { (y - hh, y) } else { (y, y + hh) };
            z.rect = [x0, y0, x0 + w, y1];
            z.scale = s;
            z.border = k == 0 && z.source != Source::Gangcheng;
        }
        if top_down {
            y -= h + rd + spare.floor();
        } else {
            y += h + rd;
        }
    }
    true
}

/// Plan the world for `parcels` legacy parcels.
pub fn plan(parcels: usize, seed: u64) -> Result<Plan, SampleError> {
    if parcels < 100 {
        return Err(SampleError::Options(format!(
            "{parcels} parcels: the world needs at least 100"
        )));
    }
    let mut rng = ChaCha8Rng::seed_from_u64(mix(seed, 0x5EED));
    let n_laiwu = (parcels as f64 * 0.62).round() as usize;
    let n_gang = parcels - n_laiwu;
    let n_jinan = ((parcels as f64 * 0.06).round() as usize).max(120);
    let mut laiwu = subzones_for(Source::Laiwu, n_laiwu, seed, &mut rng);
    let mut gangcheng = subzones_for(Source::Gangcheng, n_gang, seed, &mut rng);
    let mut jinan = subzones_for(Source::Jinan, n_jinan, seed, &mut rng);

    // one linear scale for the whole world, so that Laiwu (the tightest window) fits
    let need = |v: &[Subzone]| -> f64 {
        v.iter()
            .map(|z| {
                let (w, h) = footprint(z, 1.0);
                (w + 20.0) * (h + 20.0)
            })
            .sum()
    };
    let area = |w: [f64; 4]| (w[2] - w[0]) * (w[3] - w[1]);
    let mut s: f64 = (0.5 * area(LAIWU_WINDOW) / need(&laiwu))
        .min(0.5 * area(GANGCHENG_WINDOW) / need(&gangcheng))
        .sqrt()
        .min(1.0);
    loop {
        let ok_l = place(&mut laiwu, LAIWU_WINDOW, s, true, &[]);
        let ok_g = place(&mut gangcheng, GANGCHENG_WINDOW, s, true, &[]);
        let align: Vec<f64> = laiwu
            .iter()
            .filter(|z| z.border)
            .map(|z| z.rect[0])
            .collect();
        let ok_j = ok_l && place(&mut jinan, JINAN_WINDOW, s, false, &align);
        if ok_l && ok_g && ok_j {
            break;
        }
        s *= 0.93;
        if s < 0.2 {
            return Err(SampleError::Options(format!(
                "{parcels} parcels do not fit the district windows"
            )));
        }
    }
    for z in laiwu.iter_mut().filter(|z| z.border) {
        let top = z.rows.len() - 1;
        let a = z.row_start(top);
        for r in &mut z.roles[a..] {
            *r = Role::Border;
        }
    }
    for (src, zones) in [
        (Source::Laiwu, &mut laiwu),
        (Source::Gangcheng, &mut gangcheng),
    ] {
        assign_defects(src, zones, &mut rng);
    }
    Ok(Plan {
        seed,
        laiwu,
        gangcheng,
        jinan,
        scale: s,
    })
}

/// Choose which parcels carry which defect: one defect per parcel, partners untouched.
fn assign_defects(src: Source, zones: &mut [Subzone], rng: &mut ChaCha8Rng) {
    let main: Vec<usize> = (0..zones.len()).filter(|&i| !zones[i].zjd).collect();
    let mut cum = Vec::with_capacity(main.len());
    let mut total = 0usize;
    for &i in &main {
        total += zones[i].parcels();
        cum.push(total);
    }
    if total == 0 {
        return;
    }
    let target = ((total as f64 * DEFECT_RATE).round() as usize).max(DEFECT_MIN);
    for d in Defect::ALL {
        if d == Defect::Merge03 || (d == Defect::Area06 && src != Source::Laiwu) {
            continue;
        }
        if d == Defect::Link03 {
            for _ in 0..target {
                let z = main[cum.partition_point(|&c| c <= rng.random_range(0..total))];
                zones[z].link03 += 1;
            }
            continue;
        }
        let mut placed = 0;
        let mut tries = 0;
        while placed < target && tries < target * 400 {
            tries += 1;
            let k = cum.partition_point(|&c| c <= rng.random_range(0..total));
            let z = &mut zones[main[k]];
            let i = rng.random_range(0..z.parcels());
            let (r, c) = z.rc(i);
            if z.roles[i] != Role::Clean {
                continue;
            }
            let ok = match d {
                Defect::Geom01 => r == 0,
                Defect::Topo04 => c == 0 && matches!(z.kind, Kind::Town | Kind::Village),
                Defect::Area06 => matches!(z.kind, Kind::Farm | Kind::Forest),
                _ => true,
            };
            if !ok {
                continue;
            }
            if d.pair() {
                if c + 1 >= z.rows[r] as usize || z.roles[i + 1] != Role::Clean {
                    continue;
                }
                z.roles[i + 1] = Role::Partner(d);
            }
            z.roles[i] = Role::Defect(d);
            placed += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn overlaps(a: [f64; 4], b: [f64; 4]) -> bool {
        a[0] < b[2] && b[0] < a[2] && a[1] < b[3] && b[1] < a[3]
    }

    #[test]
    fn default_world_fits_its_windows_without_overlaps() {
        for n in [3000, 100_000] {
            let p = plan(n, 2019).unwrap();
            let total: usize = p
                .laiwu
                .iter()
                .chain(&p.gangcheng)
                .map(Subzone::parcels)
                .sum();
            assert_eq!(total, n);
            for (zones, w) in [
                (&p.laiwu, LAIWU_WINDOW),
                (&p.gangcheng, GANGCHENG_WINDOW),
                (&p.jinan, JINAN_WINDOW),
            ] {
                for (i, a) in zones.iter().enumerate() {
                    assert!(a.rect[0] >= w[0] && a.rect[2] <= w[2], "{:?}", a.rect);
                    assert!(a.rect[1] >= w[1] && a.rect[3] <= w[3], "{:?}", a.rect);
                    for b in &zones[i + 1..] {
                        assert!(!overlaps(a.rect, b.rect), "{:?} {:?}", a.rect, b.rect);
                    }
                }
            }
            assert!(p.laiwu.iter().any(|z| z.border && z.rect[3] == BORDER_N));
            assert!(p.jinan.iter().any(|z| z.border && z.rect[1] == BORDER_N));
            for (src, zones) in [(Source::Laiwu, &p.laiwu), (Source::Gangcheng, &p.gangcheng)] {
                for d in Defect::ALL {
                    let n: usize = zones
                        .iter()
                        .map(|z| {
                            z.roles.iter().filter(|r| **r == Role::Defect(d)).count()
                                + if d == Defect::Link03 {
                                    z.link03 as usize
                                } else {
                                    0
                                }
                        })
                        .sum();
                    let expected =
                        !(d == Defect::Merge03 || (d == Defect::Area06 && src != Source::Laiwu));
                    assert_eq!(n >= DEFECT_MIN, expected, "{d:?} {src:?} {n}");
                }
            }
        }
    }
}
