//! What Jinan already holds for 章丘区 (370114) along the old border: a GeoPackage written with
//! GDAL in the registry's own table and field names (ZDJBXX, ZRZ, JSYDSYQ, QLR), EPSG:4548,
//! MULTIPOLYGON. A few of its parcels reach south across the old border into a Laiwu parcel
//! (MERGE-03).

use crate::build::{build, round2, Legacy, ZoneOut};
use crate::coverage::ring_area;
use crate::ident::{uscc, IdRegistry};
use crate::plan::{mix, Plan, Source, BORDER_N, DEFECT_MIN, DEFECT_RATE};
use crate::sinks::{cert_key, cert_text, Truth};
use crate::SampleError;
use cadastra_model::{registry, FieldType};
use gdal::spatial_ref::SpatialRef;
use gdal::vector::{FieldDefn, LayerAccess, LayerOptions, ToGdal};
use gdal::DriverManager;
use geo::Contains;
use geo_types::{Coord, LineString, MultiPolygon, Polygon};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::collections::BTreeMap;
use std::path::Path;

/// What the Jinan side produced.
pub struct JinanOut {
    pub counts: BTreeMap<String, u64>,
    pub truth: Vec<Truth>,
    /// `name,id,phone` lines for people.csv
    pub people: Vec<String>,
}

fn gerr(path: &Path, e: gdal::errors::GdalError) -> SampleError {
    SampleError::Gpkg {
        path: path.to_path_buf(),
        message: e.to_string(),
    }
}

/// x-span of the edge lying on northing `y` of a closed ring.
fn span_on(ring: &[Coord<f64>], y: f64) -> Option<(f64, f64)> {
    let xs: Vec<f64> = ring.iter().filter(|c| c.y == y).map(|c| c.x).collect();
    if xs.len() < 2 {
        return None;
    }
    let lo = xs.iter().copied().fold(f64::MAX, f64::min);
    let hi = xs.iter().copied().fold(f64::MIN, f64::max);
    Some((lo, hi))
}

fn poly(r: &[Coord<f64>]) -> Polygon<f64> {
    Polygon::new(LineString::from(r.to_vec()), vec![])
}

/// Build the Jinan zones and plant MERGE-03.
fn zones(plan: &Plan) -> Result<(Vec<ZoneOut>, Vec<Truth>), SampleError> {
    let mut zones: Vec<ZoneOut> = Vec::with_capacity(plan.jinan.len());
    for sz in &plan.jinan {
        zones.push(build(sz, &Legacy::None)?);
    }
    // Laiwu parcels on the border (top rows of the border sub-zones), rebuilt in true coordinates
    let mut laiwu_top: Vec<(String, Vec<Coord<f64>>)> = Vec::new();
    for sz in plan.laiwu.iter().filter(|z| z.border) {
        let z = build(sz, &Legacy::None)?;
        let top = sz.rows.len() - 1;
        for p in &z.parcels[sz.row_start(top)..] {
            laiwu_top.push((p.zddm.clone(), p.true_ring.clone()));
        }
    }
    let n_jinan: usize = plan.jinan.iter().map(|z| z.parcels()).sum();
    let target = ((n_jinan as f64 * DEFECT_RATE).round() as usize).max(DEFECT_MIN);
    let mut rng = ChaCha8Rng::seed_from_u64(mix(plan.seed, 0x3E83));
    let mut cands: Vec<(usize, usize)> = Vec::new();
    for (zi, sz) in plan.jinan.iter().enumerate().filter(|(_, z)| z.border) {
        for pi in 0..sz.rows[0] as usize {
            cands.push((zi, pi));
        }
    }
    // shuffle deterministically
    for i in (1..cands.len()).rev() {
        let j = rng.random_range(0..=i);
        cands.swap(i, j);
    }
    let mut used_laiwu = vec![false; laiwu_top.len()];
    let mut truth = Vec::new();
    for (zi, pi) in cands {
        if truth.len() >= target {
            break;
        }
        let p = &zones[zi].parcels[pi];
        let Some((xl, xr)) = span_on(&p.true_ring, BORDER_N) else {
            continue;
        };
        for (li, (lkey, lring)) in laiwu_top.iter().enumerate() {
            if used_laiwu[li] {
                continue;
            }
            let Some((la, lb)) = span_on(lring, BORDER_N) else {
                continue;
            };
            let lo = xl.max(la) + 1.0;
            let hi = xr.min(lb) - 1.0;
            if hi - lo < 3.0 {
                continue;
            }
            let tw = (hi - lo).min(rng.random_range(2.0..6.0f64));
            let x1 = (lo + rng.random_range(0.0..(hi - lo - tw).max(1e-9))).round();
            let x2 = x1 + tw.floor().max(2.0);
            let d = rng.random_range(2.0..6.0f64).round();
            if x2 > hi + 0.5 {
                continue;
            }
            let tongue = poly(&[
                Coord { x: x1, y: BORDER_N },
                Coord { x: x2, y: BORDER_N },
                Coord {
                    x: x2,
                    y: BORDER_N - d,
                },
                Coord {
                    x: x1,
                    y: BORDER_N - d,
                },
                Coord { x: x1, y: BORDER_N },
            ]);
            let lpoly = poly(lring);
            let inner = poly(&[
                Coord {
                    x: x1 + 0.01,
                    y: BORDER_N - 0.01,
                },
                Coord {
                    x: x2 - 0.01,
                    y: BORDER_N - 0.01,
                },
                Coord {
                    x: x2 - 0.01,
                    y: BORDER_N - d,
                },
                Coord {
                    x: x1 + 0.01,
                    y: BORDER_N - d,
                },
                Coord {
                    x: x1 + 0.01,
                    y: BORDER_N - 0.01,
                },
            ]);
            if !lpoly.contains(&inner) {
                continue;
            }
            let _ = tongue;
            // insert the tongue into the Jinan parcel's bottom edge (clockwise: east to west)
            let zp = &mut zones[zi].parcels[pi];
            let ring = &mut zp.true_ring;
            let k = (0..ring.len() - 1).find(|&k| {
                ring[k].y == BORDER_N
                    && ring[k + 1].y == BORDER_N
                    && ring[k].x > x2
                    && ring[k + 1].x < x1
            });
            let Some(k) = k else { continue };
            let ins = [
                Coord { x: x2, y: BORDER_N },
                Coord {
                    x: x2,
                    y: BORDER_N - d,
                },
                Coord {
                    x: x1,
                    y: BORDER_N - d,
                },
                Coord { x: x1, y: BORDER_N },
            ];
            ring.splice(k + 1..k + 1, ins);
            zp.legacy_ring = ring.clone();
            let open = &ring[..ring.len() - 1];
            zp.zdmj = round2(ring_area(open).abs());
            used_laiwu[li] = true;
            truth.push(Truth {
                rule: "MERGE-03",
                layer: "ZDJBXX",
                feature_key: zp.zddm.clone(),
                other_key: lkey.clone(),
                source: "jinan",
                note: format!("章丘区 parcel reaches {d} m south across the old border into a Laiwu parcel ({:.0} m2)", d * (x2 - x1)),
            });
            break;
        }
    }
    Ok((zones, truth))
}

/// A feature to write: geometry (spatial tables) and values by field name.
type Feature = (Option<MultiPolygon<f64>>, BTreeMap<String, V>);

#[derive(Clone)]
enum V {
    S(String),
    R(f64),
    I(i64),
}

fn fields_of(table: &str) -> Vec<(String, FieldType, Option<u32>)> {
    let reg = registry();
    let Some(t) = reg.table(table) else {
        return Vec::new();
    };
    t.fields
        .iter()
        .filter(|f| !reg.provenance.iter().any(|p| p.name == f.name))
        .map(|f| (f.name.clone(), f.ty, f.len))
        .collect()
}

/// Build and write `jinan/zhangqiu_registry.gpkg`.
pub fn write(plan: &Plan, out: &Path) -> Result<JinanOut, SampleError> {
    let (zones, truth) = zones(plan)?;
    let dir = out.join("jinan");
    std::fs::create_dir_all(&dir).map_err(|e| SampleError::Io {
        path: dir.clone(),
        source: e,
    })?;
    let path = dir.join("zhangqiu_registry.gpkg");
    if path.exists() {
        std::fs::remove_file(&path).map_err(|e| SampleError::Io {
            path: path.clone(),
            source: e,
        })?;
    }
    // fixed timestamps in gpkg_contents, so that the same world gives the same file
    gdal::config::set_config_option("OGR_CURRENT_DATE", "2019-01-01T00:00:00.000Z")
        .map_err(|e| gerr(&path, e))?;
    let drv = DriverManager::get_driver_by_name("GPKG").map_err(|e| gerr(&path, e))?;
    let mut ds = drv.create_vector_only(&path).map_err(|e| gerr(&path, e))?;
    let srs = SpatialRef::from_epsg(4548).map_err(|e| gerr(&path, e))?;
    let mut counts = BTreeMap::new();
    let mut people = Vec::new();
    // 顺序码 from the top of their range, companies from 10^9: never the legacy sources' numbers
    let mut ids = IdRegistry::new(true);
    let mut next_company = 1_000_000_000u64;
    let mut rows: BTreeMap<&str, Vec<Feature>> = BTreeMap::new();
    let mut ywh_n = 0u64;
    let mut certs = BTreeMap::new();
    let mut bsm = 0i64;
    for z in &zones {
        let mut zid = Vec::with_capacity(z.persons.len());
        for p in &z.persons {
            if p.company {
                zid.push(uscc(next_company, p.region));
                next_company += 1;
            } else {
                let id = ids
                    .id_card(p.region, p.birth, p.male, p.bad_check)
                    .ok_or_else(|| {
                        SampleError::Options(format!("too many people born on {}", p.birth.iso()))
                    })?;
                people.push(format!("{},{},{}", p.name, id, p.phone));
                zid.push(id);
            }
        }
        for p in &z.parcels {
            bsm += 1;
            let mut m = BTreeMap::new();
            m.insert("BSM".into(), V::I(bsm));
            m.insert("YSDM".into(), V::S("6001010000".into()));
            m.insert("ZDDM".into(), V::S(p.zddm.clone()));
            m.insert("BDCDYH".into(), V::S(p.bdcdyh_raw.clone()));
            m.insert("ZDTZM".into(), V::S(p.zdtzm.into()));
            m.insert("ZL".into(), V::S(p.zl.clone()));
            m.insert("ZDMJ".into(), V::R(p.zdmj));
            m.insert("MJDW".into(), V::S("1".into()));
            m.insert("YT".into(), V::S(p.yt17.into()));
            m.insert("YTBB".into(), V::S("GB/T 21010-2017".into()));
            m.insert("QLLX".into(), V::S(p.qllx.into()));
            m.insert("QLXZ".into(), V::S(p.qlxz.into()));
            m.insert("QLSDFS".into(), V::S("2".into()));
            m.insert("DJH".into(), V::S(p.djh.clone()));
            m.insert("ZT".into(), V::S("1".into()));
            let g = MultiPolygon::new(vec![poly(&p.true_ring)]);
            rows.entry("ZDJBXX").or_default().push((Some(g), m));
        }
        for b in &z.buildings {
            bsm += 1;
            let mut m = BTreeMap::new();
            m.insert("BSM".into(), V::I(bsm));
            m.insert("YSDM".into(), V::S("6001030110".into()));
            m.insert("ZDDM".into(), V::S(b.zddm.clone()));
            m.insert("ZRZH".into(), V::S(b.zrzh.clone()));
            m.insert("JZWMC".into(), V::S(b.jzwmc.clone()));
            m.insert("ZL".into(), V::S(b.zl.clone()));
            m.insert("JGRQ".into(), V::S(b.jgrq.iso()));
            m.insert("ZZDMJ".into(), V::R(b.zzdmj));
            m.insert("SCJZMJ".into(), V::R(b.scjzmj));
            m.insert("ZCS".into(), V::I(i64::from(b.zcs)));
            m.insert("DSCS".into(), V::I(i64::from(b.zcs)));
            m.insert("GHYT".into(), V::S(b.ghyt.into()));
            m.insert("FWJG".into(), V::S(b.fwjg.into()));
            m.insert("ZT".into(), V::S("1".into()));
            let g = MultiPolygon::new(vec![poly(&b.true_ring)]);
            rows.entry("ZRZ").or_default().push((Some(g), m));
        }
        for r in &z.rights {
            ywh_n += 1;
            let ywh = format!("{}{:07}", r.djsj.compact(), ywh_n);
            let n = certs.entry(cert_key(r)).or_insert(0u32);
            *n += 1;
            let cert = cert_text(Source::Jinan, r, *n);
            let mut m = BTreeMap::new();
            m.insert("YWH".into(), V::S(ywh.clone()));
            m.insert("BDCDYH".into(), V::S(r.bdcdyh.clone()));
            m.insert(
                "ZDDM".into(),
                V::S(r.bdcdyh[..19.min(r.bdcdyh.len())].to_string()),
            );
            m.insert("QLLX".into(), V::S(r.qllx.into()));
            m.insert("DJLX".into(), V::S(r.djlx.into()));
            m.insert("DJYY".into(), V::S(r.djyy.into()));
            if let Some(a) = r.syqmj {
                m.insert("SYQMJ".into(), V::R(a));
            }
            if let Some(d) = r.qssj {
                m.insert("SYQQSSJ".into(), V::S(d.iso()));
            }
            if let Some(d) = r.jssj {
                m.insert("SYQJSSJ".into(), V::S(d.iso()));
            }
            m.insert("BDCQZH".into(), V::S(cert.clone()));
            m.insert("QXDM".into(), V::S("370114".into()));
            m.insert("DJJG".into(), V::S("济南市章丘区不动产登记中心".into()));
            m.insert("DBR".into(), V::S(r.dbr.into()));
            m.insert("DJSJ".into(), V::S(r.djsj.iso()));
            m.insert("QSZT".into(), V::S(r.qszt.into()));
            rows.entry("JSYDSYQ").or_default().push((None, m));
            for (sxh, h) in r.holders.iter().enumerate() {
                let p = &z.persons[h.person];
                let mut m = BTreeMap::new();
                m.insert("QLRKEY".into(), V::S(format!("{}-{}", r.bdcdyh, sxh + 1)));
                m.insert("BDCDYH".into(), V::S(r.bdcdyh.clone()));
                m.insert("YWH".into(), V::S(ywh.clone()));
                m.insert("SXH".into(), V::I(sxh as i64 + 1));
                m.insert("QLRMC".into(), V::S(p.name.clone()));
                m.insert("BDCQZH".into(), V::S(cert.clone()));
                m.insert(
                    "SFCZR".into(),
                    V::S(if sxh == 0 { "1" } else { "0" }.into()),
                );
                m.insert(
                    "ZJZL".into(),
                    V::S(if p.company { "8" } else { "1" }.into()),
                );
                m.insert("ZJH".into(), V::S(zid[h.person].clone()));
                m.insert("GJ".into(), V::S("CHN".into()));
                if !p.company {
                    m.insert("XB".into(), V::S(if p.male { "1" } else { "2" }.into()));
                }
                m.insert("DH".into(), V::S(p.phone.clone()));
                m.insert("DZ".into(), V::S(p.address.clone()));
                m.insert(
                    "QLRLX".into(),
                    V::S(if p.company { "2" } else { "1" }.into()),
                );
                m.insert("GYFS".into(), V::S(h.gyfs.into()));
                if let Some((a, b)) = h.share {
                    m.insert(
                        "QLBL".into(),
                        V::S(if a == b {
                            "1".into()
                        } else {
                            format!("{a}/{b}")
                        }),
                    );
                }
                rows.entry("QLR").or_default().push((None, m));
            }
        }
    }
    for table in ["ZDJBXX", "ZRZ", "JSYDSYQ", "QLR"] {
        let list = rows.remove(table).unwrap_or_default();
        let spatial = table == "ZDJBXX" || table == "ZRZ";
        let fields = fields_of(table);
        let opts = ["GEOMETRY_NAME=geom", "FID=fid"];
        let lyr = ds
            .create_layer(LayerOptions {
                name: table,
                srs: if spatial { Some(&srs) } else { None },
                ty: if spatial {
                    gdal::vector::OGRwkbGeometryType::wkbMultiPolygon
                } else {
                    gdal::vector::OGRwkbGeometryType::wkbNone
                },
                options: Some(&opts),
            })
            .map_err(|e| gerr(&path, e))?;
        for (name, ty, len) in &fields {
            let ft = match ty {
                FieldType::Text => gdal::vector::OGRFieldType::OFTString,
                FieldType::Int => gdal::vector::OGRFieldType::OFTInteger64,
                FieldType::Real => gdal::vector::OGRFieldType::OFTReal,
                FieldType::Date => gdal::vector::OGRFieldType::OFTDate,
            };
            let fd = FieldDefn::new(name, ft).map_err(|e| gerr(&path, e))?;
            if let (FieldType::Text, Some(l)) = (ty, len) {
                fd.set_width(*l as i32);
            }
            fd.add_to_layer(&lyr).map_err(|e| gerr(&path, e))?;
        }
        let txn = ds.start_transaction().map_err(|e| gerr(&path, e))?;
        {
            let lyr = txn.layer_by_name(table).map_err(|e| gerr(&path, e))?;
            let defn = lyr.defn();
            for (g, m) in &list {
                let mut f = gdal::vector::Feature::new(defn).map_err(|e| gerr(&path, e))?;
                if let Some(g) = g {
                    f.set_geometry(g.to_gdal().map_err(|e| gerr(&path, e))?)
                        .map_err(|e| gerr(&path, e))?;
                }
                for (i, (name, _, _)) in fields.iter().enumerate() {
                    match m.get(name) {
                        Some(V::S(s)) => f.set_field_string(i, s),
                        Some(V::R(r)) => f.set_field_double(i, *r),
                        Some(V::I(v)) => f.set_field_integer64(i, *v),
                        None => f.set_field_null(i),
                    }
                    .map_err(|e| gerr(&path, e))?;
                }
                f.create(&lyr).map_err(|e| gerr(&path, e))?;
            }
        }
        txn.commit().map_err(|e| gerr(&path, e))?;
        counts.insert(
            format!("jinan/zhangqiu_registry.gpkg#{table}"),
            list.len() as u64,
        );
    }
    drop(ds);
    Ok(JinanOut {
        counts,
        truth,
        people,
    })
}
