//! The rule registry: a plain slice in id order (greppable; a test keeps it sorted and unique),
//! and the generator of `RULES.md`.

use crate::Rule;
use cadastra_model::Geom;

pub(crate) mod area01_registered_area;
pub(crate) mod area02_graphical_area;
pub(crate) mod area03_block_area;
pub(crate) mod area04_registration_crs;
pub(crate) mod area05_house_areas;
pub(crate) mod area06_area_unit;
pub(crate) mod attr01_mandatory_fields;
pub(crate) mod attr02_code_domains;
pub(crate) mod attr03_code_coherence;
pub(crate) mod attr04_id_check;
pub(crate) mod attr05_id_type;
pub(crate) mod attr06_dates;
pub(crate) mod attr07_address;
pub(crate) mod geom01_validity;
pub(crate) mod geom02_null_geometry;
pub(crate) mod geom03_vertex_defects;
pub(crate) mod geom04_multipart;
pub(crate) mod geom05_small_thin;
pub(crate) mod geom06_orientation;
pub(crate) mod link01_parcel_without_right;
pub(crate) mod link02_missing_information;
pub(crate) mod link03_right_without_geometry;
pub(crate) mod link04_orphans;
pub(crate) mod link05_share_sum;
pub(crate) mod link06_certificate_reuse;
pub(crate) mod link07_encumbrance;
pub(crate) mod topo01_parcel_overlap;
pub(crate) mod topo02_parcel_gap;
pub(crate) mod topo03_parcel_in_zone;
pub(crate) mod topo04_building_in_parcel;
pub(crate) mod topo05_building_overlap;
pub(crate) mod topo06_boundary_points;
pub(crate) mod topo07_boundary_lines;
pub(crate) mod topo08_edge_matching;
pub(crate) mod topo09_coverage;
pub(crate) mod unit01_form;
pub(crate) mod unit02_characters;
pub(crate) mod unit03_county_code;
pub(crate) mod unit04_code_pair;
pub(crate) mod unit05_fixture_number;
pub(crate) mod unit06_prefix_links;
pub(crate) mod unit07_unique;
pub(crate) mod unit08_virtual;

/// Every rule, in id order.
pub static RULES: &[&dyn Rule] = &[
    &area01_registered_area::RegisteredArea,
    &area02_graphical_area::GraphicalArea,
    &area03_block_area::BlockArea,
    &area04_registration_crs::RegistrationCrs,
    &area05_house_areas::HouseAreas,
    &area06_area_unit::AreaUnit,
    &attr01_mandatory_fields::MandatoryFields,
    &attr02_code_domains::CodeDomains,
    &attr03_code_coherence::CodeCoherence,
    &attr04_id_check::IdCheck,
    &attr05_id_type::IdType,
    &attr06_dates::Dates,
    &attr07_address::Address,
    &geom01_validity::Validity,
    &geom02_null_geometry::NullGeometry,
    &geom03_vertex_defects::VertexDefects,
    &geom04_multipart::Multipart,
    &geom05_small_thin::SmallThin,
    &geom06_orientation::Orientation,
    &link01_parcel_without_right::ParcelWithoutRight,
    &link02_missing_information::MissingInformation,
    &link03_right_without_geometry::RightWithoutGeometry,
    &link04_orphans::Orphans,
    &link05_share_sum::ShareSum,
    &link06_certificate_reuse::CertificateReuse,
    &link07_encumbrance::Encumbrance,
    &topo01_parcel_overlap::ParcelOverlap,
    &topo02_parcel_gap::ParcelGap,
    &topo03_parcel_in_zone::ParcelInZone,
    &topo04_building_in_parcel::BuildingInParcel,
    &topo05_building_overlap::BuildingOverlap,
    &topo06_boundary_points::BoundaryPoints,
    &topo07_boundary_lines::BoundaryLines,
    &topo08_edge_matching::EdgeMatching,
    &topo09_coverage::Coverage,
    &unit01_form::Form,
    &unit02_characters::Characters,
    &unit03_county_code::CountyCode,
    &unit04_code_pair::CodePair,
    &unit05_fixture_number::FixtureNumber,
    &unit06_prefix_links::PrefixLinks,
    &unit07_unique::Unique,
    &unit08_virtual::Virtual,
];

/// A point inside (or on) a geometry, for finding locations: the vertex mean of the first part
/// when it lies inside it (exact test; the common case for parcels and buildings), else geo's
/// interior point (valid geometries only: invalid rings have no reliable inside), else the first
/// vertex.
pub fn locate(g: &Geom) -> Option<(f64, f64)> {
    use cadastra_geom::predicates::{locate_in_ring, Location};
    use geo::InteriorPoint;
    let finite = g.0.iter().all(|p| {
        p.exterior()
            .0
            .iter()
            .all(|c| c.x.is_finite() && c.y.is_finite())
    });
    if !finite {
        return None;
    }
    if let Some(p) = g.0.first() {
        let r = &p.exterior().0;
        let n = r.len().saturating_sub(1);
        if n >= 3 && r.first() == r.last() {
            let (sx, sy) = r[..n]
                .iter()
                .fold((0.0, 0.0), |(x, y), c| (x + c.x, y + c.y));
            let c = geo_types::Coord {
                x: sx / n as f64,
                y: sy / n as f64,
            };
            if locate_in_ring(c, r) == Location::Interior
                && p.interiors()
                    .iter()
                    .all(|h| locate_in_ring(c, &h.0) == Location::Exterior)
            {
                return Some((c.x, c.y));
            }
        }
    }
    cadastra_geom::validate_multipolygon(g)
        .is_ok()
        .then(|| g.interior_point())
        .flatten()
        .map(|p| (p.x(), p.y()))
        .or_else(|| {
            g.0.first()
                .and_then(|p| p.exterior().0.first())
                .map(|c| (c.x, c.y))
        })
        .filter(|(x, y)| x.is_finite() && y.is_finite())
}

/// The `//!` header of a rule's module, without its title paragraph (test builds only: the module
/// sources are not compiled into the library).
#[cfg(test)]
fn module_doc(id: &str) -> String {
    const SOURCES: &[(&str, &str)] = &[
        ("AREA-01", include_str!("area01_registered_area.rs")),
        ("AREA-02", include_str!("area02_graphical_area.rs")),
        ("AREA-03", include_str!("area03_block_area.rs")),
        ("AREA-04", include_str!("area04_registration_crs.rs")),
        ("AREA-05", include_str!("area05_house_areas.rs")),
        ("AREA-06", include_str!("area06_area_unit.rs")),
        ("ATTR-01", include_str!("attr01_mandatory_fields.rs")),
        ("ATTR-02", include_str!("attr02_code_domains.rs")),
        ("ATTR-03", include_str!("attr03_code_coherence.rs")),
        ("ATTR-04", include_str!("attr04_id_check.rs")),
        ("ATTR-05", include_str!("attr05_id_type.rs")),
        ("ATTR-06", include_str!("attr06_dates.rs")),
        ("ATTR-07", include_str!("attr07_address.rs")),
        ("GEOM-01", include_str!("geom01_validity.rs")),
        ("GEOM-02", include_str!("geom02_null_geometry.rs")),
        ("GEOM-03", include_str!("geom03_vertex_defects.rs")),
        ("GEOM-04", include_str!("geom04_multipart.rs")),
        ("GEOM-05", include_str!("geom05_small_thin.rs")),
        ("GEOM-06", include_str!("geom06_orientation.rs")),
        ("LINK-01", include_str!("link01_parcel_without_right.rs")),
        ("LINK-02", include_str!("link02_missing_information.rs")),
        ("LINK-03", include_str!("link03_right_without_geometry.rs")),
        ("LINK-04", include_str!("link04_orphans.rs")),
        ("LINK-05", include_str!("link05_share_sum.rs")),
        ("LINK-06", include_str!("link06_certificate_reuse.rs")),
        ("LINK-07", include_str!("link07_encumbrance.rs")),
        ("TOPO-01", include_str!("topo01_parcel_overlap.rs")),
        ("TOPO-02", include_str!("topo02_parcel_gap.rs")),
        ("TOPO-03", include_str!("topo03_parcel_in_zone.rs")),
        ("TOPO-04", include_str!("topo04_building_in_parcel.rs")),
        ("TOPO-05", include_str!("topo05_building_overlap.rs")),
        ("TOPO-06", include_str!("topo06_boundary_points.rs")),
        ("TOPO-07", include_str!("topo07_boundary_lines.rs")),
        ("TOPO-08", include_str!("topo08_edge_matching.rs")),
        ("TOPO-09", include_str!("topo09_coverage.rs")),
        ("UNIT-01", include_str!("unit01_form.rs")),
        ("UNIT-02", include_str!("unit02_characters.rs")),
        ("UNIT-03", include_str!("unit03_county_code.rs")),
        ("UNIT-04", include_str!("unit04_code_pair.rs")),
        ("UNIT-05", include_str!("unit05_fixture_number.rs")),
        ("UNIT-06", include_str!("unit06_prefix_links.rs")),
        ("UNIT-07", include_str!("unit07_unique.rs")),
        ("UNIT-08", include_str!("unit08_virtual.rs")),
    ];
    let src = SOURCES
        .iter()
        .find(|(i, _)| *i == id)
        .map_or("", |(_, s)| s);
    let lines: Vec<&str> = src
        .lines()
        .take_while(|l| l.starts_with("//!"))
        .skip_while(|l| l.trim() != "//!")
        .map(|l| {
            l.strip_prefix("//! ")
                .or_else(|| l.strip_prefix("//!"))
                .unwrap_or(l)
        })
        .collect();
    lines.join("\n").trim().to_string()
}

/// `RULES.md`: every rule with its sub-codes, options and module documentation, generated from
/// the rules' metadata and their modules' `//!` headers.
#[cfg(test)]
fn rules_markdown() -> String {
    use std::fmt::Write;
    let mut s = String::new();
    let _ = writeln!(
        s,
        "# cadastra validation rules\n\n\
         Generated from the rule modules' metadata (`crates/cadastra-rules/src/rules/`); do not edit.\n\
         Refresh with `UPDATE_EXPECT=1 cargo test -p cadastra-rules rules_md` (a test fails while this file is stale).\n\n\
         Severity: **E** blocks the row from loading (it goes to quarantine with the finding as reason),\n\
         **W** is for review, **I** is information. A sub-code's letter is its default severity.\n\
         Options are set per pipeline: `[validation.rules.\"TOPO-01\"] min_area = 0.01`; every rule also takes\n\
         `severity = \"W\"` (all its E and W findings) or `severity = {{ E01 = \"W\" }}` (per sub-code), and\n\
         `[validation] disabled = [\"...\"]` switches rules off. An unknown option or a value of the wrong type\n\
         stops that rule (outcome \"could not run\"). Defaults marked [I] are inferred (domain-brief [I]): confirm\n\
         them with the bureau.\n"
    );
    let _ = writeln!(
        s,
        "| id | name | severity | checks |\n| --- | --- | --- | --- |"
    );
    for r in RULES {
        let (zh, en) = r.describe();
        let _ = writeln!(
            s,
            "| {} | {} | {} | {} — {} |",
            r.id(),
            r.name(),
            r.severity(),
            zh,
            en
        );
    }
    for r in RULES {
        let (zh, en) = r.describe();
        let _ = writeln!(
            s,
            "\n## {} {} ({})\n\n{}\n\n{}\n",
            r.id(),
            r.name(),
            r.severity(),
            zh,
            en
        );
        if !r.needs().is_empty() {
            let _ = writeln!(s, "Needs: {}\n", r.needs());
        }
        let doc = module_doc(r.id().0);
        if !doc.is_empty() {
            let _ = writeln!(
                s,
                "<details><summary>module documentation</summary>\n\n{doc}\n\n</details>\n"
            );
        }
        if !r.codes().is_empty() {
            let _ = writeln!(s, "| code | severity | meaning |\n| --- | --- | --- |");
            for c in r.codes() {
                let _ = writeln!(
                    s,
                    "| {}-{} | {} | {} — {} |",
                    r.id(),
                    c.code,
                    crate::context::severity_of(c.code),
                    c.zh,
                    c.en
                );
            }
            s.push('\n');
        }
        if !r.options().is_empty() {
            let _ = writeln!(s, "| option | default | meaning |\n| --- | --- | --- |");
            for o in r.options() {
                let _ = writeln!(
                    s,
                    "| `{}` | `{}`{} | {} |",
                    o.key,
                    o.default,
                    if o.inferred { " [I]" } else { "" },
                    o.doc
                );
            }
            s.push('\n');
        }
    }
    while s.contains("\n\n\n") {
        s = s.replace("\n\n\n", "\n\n");
    }
    while s.ends_with("\n\n") {
        s.pop();
    }
    s
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

    #[test]
    fn metadata_is_complete() {
        for r in RULES {
            let id = r.id().0;
            let name = r.name();
            assert!(
                !name.is_empty() && name.chars().all(|c| c.is_ascii_lowercase() || c == '-'),
                "{id}: {name}"
            );
            let (zh, en) = r.describe();
            assert!(!zh.is_empty() && !en.is_empty(), "{id}");
            let mut codes: Vec<&str> = r.codes().iter().map(|c| c.code).collect();
            let n = codes.len();
            codes.sort();
            codes.dedup();
            assert_eq!(codes.len(), n, "{id}: sub-codes unique");
            for c in r.codes() {
                assert!(
                    c.code.len() == 3
                        && "EWI".contains(&c.code[..1])
                        && c.code[1..].bytes().all(|b| b.is_ascii_digit()),
                    "{id}: sub-code {}",
                    c.code
                );
            }
            // the main severity is one of the sub-codes' (rules that never apply have none)
            if !r.codes().is_empty() {
                assert!(
                    r.codes()
                        .iter()
                        .any(|c| crate::context::severity_of(c.code) == r.severity()),
                    "{id}: main severity {} among its sub-codes",
                    r.severity()
                );
            }
            for o in r.options() {
                assert!(
                    o.key != "severity" && !o.doc.is_empty(),
                    "{id}: option {}",
                    o.key
                );
            }
        }
    }

    #[test]
    fn no_personal_data_in_messages() {
        use crate::testkit::*;
        // names and ID numbers that every holder rule has a reason to talk about
        let names = ["张三丰", "李四光", "王五六"];
        let ids = [
            "11010519491231002X",
            "110105194912310021",
            "110105491231002",
            "370102198001011234",
        ];
        let q = layer("QLR", "laiwu")
            .row(
                &[
                    ("QLRKEY", "U1-1"),
                    ("BDCDYH", "U1"),
                    ("QLRMC", names[0]),
                    ("ZJZL", "1"),
                    ("ZJH", ids[1]),
                    ("GYFS", "2"),
                    ("QLBL", "1/3"),
                    ("BDCQZH", "C1"),
                ],
                None,
            )
            .row(
                &[
                    ("QLRKEY", "U1-2"),
                    ("BDCDYH", "U1"),
                    ("QLRMC", names[1]),
                    ("ZJZL", "8"),
                    ("ZJH", ids[0]),
                    ("GYFS", "2"),
                    ("QLBL", "x"),
                ],
                None,
            )
            .row(
                &[
                    ("QLRKEY", "U2-1"),
                    ("BDCDYH", "U2"),
                    ("QLRMC", "王五六370102198001011234"),
                    ("ZJZL", "1"),
                    ("ZJH", ids[2]),
                    ("BDCQZH", "C1"),
                ],
                None,
            )
            .row(
                &[
                    ("QLRKEY", "U3-1"),
                    ("BDCDYH", "U3"),
                    ("QLRMC", names[2]),
                    ("ZJZL", "6"),
                    ("ZJH", ids[3]),
                ],
                None,
            );
        let r =
            layer("JSYDSYQ", "laiwu").row(&[("YWH", "Y9"), ("BDCDYH", "U9"), ("QSZT", "1")], None);
        let f = all_findings(&[q, r], "");
        assert!(f.len() >= 8, "{}", f.len());
        for x in &f {
            let m = format!(
                "{} {} {} {:?}",
                x.finding.message_zh,
                x.finding.message_en,
                x.finding.feature_key,
                x.finding.other_key
            );
            for s in names.iter().chain(&ids) {
                assert!(!m.contains(s), "{} leaks {s}: {m}", x.finding.code());
            }
        }
    }

    #[test]
    fn rules_md_is_fresh() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/RULES.md");
        let want = rules_markdown() + "\n";
        if std::env::var_os("UPDATE_EXPECT").is_some() {
            std::fs::write(path, &want).expect("write RULES.md");
            return;
        }
        let have = std::fs::read_to_string(path).unwrap_or_default();
        assert!(
            have == want,
            "RULES.md is stale: run `UPDATE_EXPECT=1 cargo test -p cadastra-rules rules_md` and commit it"
        );
    }
}
