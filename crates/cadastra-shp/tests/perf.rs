//! Speed check (ignored by default; run in release):
//!
//! ```text
//! cargo test --release -p cadastra-shp --test perf -- --ignored --nocapture
//! ```
//!
//! Writes a 1M-parcel GBK shapefile (LDID 0, no .cpg, 15 text/number/date fields) with the
//! writer, then times: the byte-read floor (reading .shp + .dbf into memory), and the full read
//! with 1 and 2 threads. `CADASTRA_PERF_N` changes the parcel count; `CADASTRA_PERF_DIR` keeps
//! the files in a folder instead of a temporary one.

use cadastra_shp::{
    read_shapefile, write_shapefile, DbfField, ReadOptions, TextEncoding, WriteSpec,
};
use geo_types::{Coord, Geometry, LineString, MultiPolygon, Polygon};
use std::time::{Duration, Instant};

/// Deterministic pseudo-random numbers (xorshift64*), so runs are comparable.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545F4914F6CDD1D)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

const TOWNS: &[&str] = &[
    "凤城街道",
    "张家洼街道",
    "高庄街道",
    "鹏泉街道",
    "口镇",
    "羊里镇",
    "方下镇",
    "雪野镇",
    "大王庄镇",
    "寨里镇",
    "杨庄镇",
    "茶业口镇",
    "和庄镇",
    "牛泉镇",
    "苗山镇",
    "钢城区艾山街道",
    "颜庄镇",
    "辛庄镇",
    "里辛镇",
];
const SURNAMES: &[&str] = &[
    "王", "李", "张", "刘", "陈", "杨", "赵", "黄", "周", "吴", "徐", "孙", "胡", "朱", "高", "林",
    "何", "郭", "马", "罗",
];
const GIVEN: &[&str] = &[
    "伟", "芳", "娜", "秀英", "敏", "静", "丽", "强", "磊", "军", "洋", "勇", "艳", "杰", "娟",
    "涛", "明", "超", "秀兰", "霞",
];
const USES: &[&str] = &["071", "072", "061", "052", "011", "013", "031", "121"];

fn fields() -> Vec<DbfField> {
    vec![
        DbfField::text("BSM", 10),
        DbfField::text("ZDDM", 19),
        DbfField::text("BDCDYH", 28),
        DbfField::text("QLRMC", 60),
        DbfField::text("ZL", 120),
        DbfField::text("QLLX", 4),
        DbfField::text("QLXZ", 4),
        DbfField::text("TDYT", 6),
        DbfField::number("ZDMJ", 15, 2),
        DbfField::number("JZMJ", 15, 2),
        DbfField::number("RJL", 8, 3),
        DbfField::date("DJRQ"),
        DbfField::text("DJJG", 40),
        DbfField::text("BZ", 50),
        DbfField::number("JZWJS", 4, 0),
    ]
}

fn parcel(rng: &mut Rng, i: usize) -> (Vec<Option<String>>, Option<Geometry<f64>>) {
    let col = (i % 1000) as f64;
    let row = (i / 1000) as f64;
    let (x0, y0) = (39_500_000.0 + col * 40.0, 4_010_000.0 + row * 40.0);
    // a jittered hexagon-ish ring of 6 vertices, clockwise as legacy files are
    let mut ring: Vec<Coord<f64>> = (0..6)
        .map(|k| {
            let a = -(k as f64) * std::f64::consts::TAU / 6.0;
            let r = 15.0 + (rng.below(1000) as f64) / 200.0;
            Coord {
                x: x0 + 20.0 + r * a.cos(),
                y: y0 + 20.0 + r * a.sin(),
            }
        })
        .collect();
    ring.push(ring[0]);
    let poly = Polygon::new(LineString(ring), vec![]);
    let geom = if i.is_multiple_of(97) {
        None
    } else if i.is_multiple_of(50) {
        let hole = LineString(vec![
            Coord {
                x: x0 + 18.0,
                y: y0 + 18.0,
            },
            Coord {
                x: x0 + 22.0,
                y: y0 + 18.0,
            },
            Coord {
                x: x0 + 22.0,
                y: y0 + 22.0,
            },
            Coord {
                x: x0 + 18.0,
                y: y0 + 22.0,
            },
            Coord {
                x: x0 + 18.0,
                y: y0 + 18.0,
            },
        ]);
        let (ext, _) = poly.into_inner();
        Some(Geometry::MultiPolygon(MultiPolygon(vec![
            Polygon::new(ext, vec![hole]),
            Polygon::new(
                LineString(vec![
                    Coord {
                        x: x0 + 1.0,
                        y: y0 + 1.0,
                    },
                    Coord {
                        x: x0 + 1.0,
                        y: y0 + 3.0,
                    },
                    Coord {
                        x: x0 + 3.0,
                        y: y0 + 3.0,
                    },
                    Coord {
                        x: x0 + 1.0,
                        y: y0 + 1.0,
                    },
                ]),
                vec![],
            ),
        ])))
    } else {
        Some(Geometry::Polygon(poly))
    };
    let town = TOWNS[rng.below(TOWNS.len() as u64) as usize];
    let name = format!(
        "{}{}",
        SURNAMES[rng.below(SURNAMES.len() as u64) as usize],
        GIVEN[rng.below(GIVEN.len() as u64) as usize]
    );
    let zddm = format!(
        "371202{:03}{:03}GB{:05}",
        i % 17,
        (i / 17) % 300,
        i % 100_000
    );
    let rec = vec![
        Some(format!("{}", i + 1)),
        Some(zddm.clone()),
        Some(format!("{zddm}F99990001")),
        Some(if i.is_multiple_of(10) {
            format!("{name}、{}", SURNAMES[i % 20])
        } else {
            name
        }),
        Some(format!("莱芜区{town}{}村{}号", i % 300, rng.below(200) + 1)),
        Some("3".to_string()),
        Some("102".to_string()),
        Some(USES[rng.below(USES.len() as u64) as usize].to_string()),
        Some(format!("{}.{:02}", 80 + rng.below(2000), rng.below(100))),
        if i.is_multiple_of(3) {
            None
        } else {
            Some(format!("{}.{:02}", 50 + rng.below(500), rng.below(100)))
        },
        Some(format!("{}.{:03}", rng.below(3), rng.below(1000))),
        Some(format!(
            "{}{:02}{:02}",
            1995 + rng.below(30),
            1 + rng.below(12),
            1 + rng.below(28)
        )),
        Some("济南市莱芜区自然资源局".to_string()),
        if i.is_multiple_of(7) {
            Some("历史遗留，待核实".to_string())
        } else {
            None
        },
        Some(format!("{}", rng.below(5))),
    ];
    (rec, geom)
}

/// CPU time of this process (all threads), from /proc/self/stat (Linux; zero elsewhere).
fn cpu_time() -> Duration {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // fields after the parenthesised command name; utime and stime are fields 14 and 15
    let rest = stat.rsplit(')').next().unwrap_or("");
    let f: Vec<&str> = rest.split_whitespace().collect();
    let field = |i: usize| f.get(i).and_then(|x| x.parse::<u64>().ok()).unwrap_or(0);
    let ticks = field(11) + field(12); // rest[0] is field 3 (state)
    Duration::from_millis(ticks * 10) // CLK_TCK = 100 on Linux
}

/// Wall and CPU time of one call.
fn timed<T>(f: impl FnOnce() -> T) -> (Duration, Duration) {
    let (c, t) = (cpu_time(), Instant::now());
    let _ = f();
    (t.elapsed(), cpu_time().saturating_sub(c))
}

/// Best wall time of `runs` calls, with that run's CPU time and the result's size. The result
/// is dropped outside the timing.
fn best_of<T>(
    runs: usize,
    mut f: impl FnMut() -> T,
    size: impl Fn(&T) -> usize,
) -> (Duration, Duration, usize) {
    let mut best = (Duration::MAX, Duration::ZERO);
    let mut out = 0;
    for _ in 0..runs {
        let (c, t) = (cpu_time(), Instant::now());
        let result = f();
        let wall = t.elapsed();
        let cpu = cpu_time().saturating_sub(c);
        out = size(&result);
        drop(result);
        if wall < best.0 {
            best = (wall, cpu);
        }
    }
    (best.0, best.1, out)
}

#[test]
#[ignore = "speed check: run in release with --ignored --nocapture"]
fn perf_1m_parcels() {
    let n: usize = std::env::var("CADASTRA_PERF_N")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000);
    let tmp = tempfile::tempdir().expect("temp dir");
    let dir = std::env::var("CADASTRA_PERF_DIR")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|_| tmp.path().to_path_buf());
    std::fs::create_dir_all(&dir).expect("perf dir");
    let path = dir.join("parcels.shp");

    let reuse = std::env::var("CADASTRA_PERF_REUSE").is_ok() && path.exists();
    if !reuse {
        let t = Instant::now();
        let mut rng = Rng(0x9E3779B97F4A7C15);
        let (records, geoms): (Vec<_>, Vec<_>) = (0..n).map(|i| parcel(&mut rng, i)).unzip();
        let gen = t.elapsed();
        let (write, cpu) = timed(|| {
            write_shapefile(
                &path,
                &WriteSpec::gbk_undeclared(),
                &fields(),
                &records,
                &geoms,
            )
            .expect("write")
        });
        println!("{n} parcels generated in {gen:.2?}, written in {write:.2?} (CPU {cpu:.2?})");
    }
    let shp_len = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
    let dbf_len = std::fs::metadata(path.with_extension("dbf"))
        .map(|m| m.len())
        .unwrap_or(0);
    println!(
        "15 fields, .shp {} MB, .dbf {} MB",
        shp_len >> 20,
        dbf_len >> 20
    );

    let (floor, floor_cpu, bytes) = best_of(
        5,
        || {
            let a = std::fs::read(&path).expect("shp");
            let b = std::fs::read(path.with_extension("dbf")).expect("dbf");
            (a, b)
        },
        |(a, b)| a.len() + b.len(),
    );
    println!(
        "floor: read .shp+.dbf bytes ({} MB) in {floor:.2?} (CPU {floor_cpu:.2?})",
        bytes >> 20
    );
    for threads in [1, 2] {
        let opts = ReadOptions {
            threads: Some(threads),
            chinese: true,
            ..ReadOptions::default()
        };
        let (took, cpu, rows) = best_of(
            3,
            || read_shapefile(&path, &opts).expect("read"),
            |layer| {
                let enc = layer.encoding.as_ref().map(|d| d.encoding);
                assert_eq!(enc, Some(TextEncoding::GBK));
                let first = &layer.problems[..layer.problems.len().min(3)];
                assert!(layer.problems.is_empty(), "{first:?}");
                let zl = layer.column("ZL").and_then(|c| c.get(1));
                assert_eq!(zl.map(|s| s.starts_with("莱芜区")), Some(true));
                layer.len()
            },
        );
        assert_eq!(rows, n);
        println!(
            "read with {threads} thread(s): {took:.2?} (CPU {cpu:.2?}) = {:.1}x the floor, {:.0} parcels/s",
            took.as_secs_f64() / floor.as_secs_f64(),
            n as f64 / took.as_secs_f64()
        );
    }
}
