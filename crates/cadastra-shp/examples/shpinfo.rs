//! `cargo run -p cadastra-shp --example shpinfo -- FILE.shp [--encoding GBK] [--chinese] [--all]`:
//! what the reader makes of a shapefile (an `ogrinfo` for cadastra's reader).

use cadastra_shp::{read_dbf, read_shapefile, ReadOptions, TextEncoding};
use geo_types::Geometry;
use std::path::PathBuf;

fn kind(g: &Option<Geometry<f64>>) -> String {
    match g {
        None => "null".into(),
        Some(Geometry::Point(_)) => "Point".into(),
        Some(Geometry::MultiPoint(m)) => format!("MultiPoint({})", m.0.len()),
        Some(Geometry::LineString(l)) => format!("LineString({})", l.0.len()),
        Some(Geometry::MultiLineString(m)) => format!("MultiLineString({})", m.0.len()),
        Some(Geometry::Polygon(p)) => format!("Polygon(1+{})", p.interiors().len()),
        Some(Geometry::MultiPolygon(m)) => format!("MultiPolygon({})", m.0.len()),
        Some(other) => format!("{other:?}"),
    }
}

fn main() {
    let mut args = std::env::args().skip(1);
    let mut opts = ReadOptions::default();
    let mut path = None;
    let mut all = false;
    while let Some(a) = args.next() {
        match a.as_str() {
            "--encoding" => {
                let label = args.next().unwrap_or_default();
                opts.encoding = TextEncoding::from_cpg(&label);
            }
            "--chinese" => opts.chinese = true,
            "--all" => all = true,
            "--threads" => opts.threads = args.next().and_then(|t| t.parse().ok()),
            _ => path = Some(PathBuf::from(a)),
        }
    }
    let Some(path) = path else {
        eprintln!("usage: shpinfo FILE [--encoding LABEL] [--chinese] [--all]");
        std::process::exit(2);
    };
    let is_dbf = path
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("dbf"));
    let (fields, columns, rows, geoms, enc, warnings, problems, deleted) = if is_dbf {
        match read_dbf(&path, &opts) {
            Ok(t) => (
                t.fields.clone(),
                t.columns.clone(),
                t.len(),
                vec![],
                Some(t.encoding.clone()),
                t.warnings.clone(),
                t.problems.clone(),
                t.deleted_records.len(),
            ),
            Err(e) => {
                println!("REFUSED: {e}");
                return;
            }
        }
    } else {
        match read_shapefile(&path, &opts) {
            Ok(l) => {
                println!(
                    "shape type {} rows {} shx_rebuilt {} prj {}",
                    l.shape_type,
                    l.len(),
                    l.shx_rebuilt,
                    l.prj.is_some()
                );
                (
                    l.fields.clone(),
                    l.columns.clone(),
                    l.len(),
                    l.geoms.clone(),
                    l.encoding.clone(),
                    l.warnings.clone(),
                    l.problems.clone(),
                    l.deleted_records.len(),
                )
            }
            Err(e) => {
                println!("REFUSED: {e}");
                return;
            }
        }
    };
    println!("rows {rows}, deleted skipped {deleted}");
    if let Some(d) = enc {
        println!(
            "encoding {} via {:?} confident {}",
            d.encoding, d.source, d.confident
        );
        for e in &d.evidence {
            println!("  - {e}");
        }
    }
    for w in &warnings {
        println!("WARNING {w}");
    }
    for p in problems.iter().take(if all { usize::MAX } else { 8 }) {
        println!("PROBLEM row {} {:?}: {p}", p.row, p.kind);
    }
    if problems.len() > 8 && !all {
        println!("... {} problems", problems.len());
    }
    let show = if all { rows } else { rows.min(3) };
    for r in 0..show {
        let vals: Vec<String> = fields
            .iter()
            .zip(&columns)
            .map(|(f, c)| format!("{}={:?}", f.name, c.get(r)))
            .collect();
        let g = geoms.get(r).map(kind).unwrap_or_default();
        println!("row {r}: {} {}", vals.join(" "), g);
    }
}
