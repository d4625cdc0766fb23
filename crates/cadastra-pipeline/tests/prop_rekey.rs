//! Property: re-keying (the code list's admin crosswalk: 371202 → 370116, 371203 → 370117,
//! 371200 → 370100, in positions 1-6 of ZDDM, BDCDYH, ZRZH
//! and the whole QXDM) is reversible through the crosswalk it returns. For generated key columns
//! (legacy and current admin codes, other counties, short values, nulls, multi-byte characters
//! around position 6):
//! - applying the crosswalk backwards (new → old, per row and key) restores the rows exactly;
//! - only the six-character county prefix changes, and only legacy admin codes change;
//! - every changed cell has exactly one crosswalk entry, and unchanged cells none;
//! - old → new is injective per key type, so a crosswalk lookup new → old is unambiguous.

use cadastra_model::codelist::codelists;
use cadastra_model::{registry, Column, Rows};
use cadastra_pipeline::run::rekey;
use proptest::prelude::*;
use std::collections::{BTreeMap, HashSet};

fn value() -> impl Strategy<Value = Option<String>> {
    let prefix = prop::sample::select(vec![
        "371202",
        "371203",
        "370116",
        "370117",
        "370114",
        "371200",
        "37120",
        "3712０2",
        "莱城区",
        "",
    ]);
    let rest = "[0-9A-Z]{0,22}";
    prop_oneof![
        8 => (prefix, rest).prop_map(|(p, r)| Some(format!("{p}{r}"))),
        1 => Just(None),
        1 => "\\PC{0,10}".prop_map(Some),
    ]
}

fn column(table: &str, field: &str, values: &[Option<String>]) -> Option<(usize, Column)> {
    let def = registry().table(table)?;
    let i = def.field_index(field)?;
    let mut rows = Rows::new(def);
    let Column::Text(c) = &mut rows.columns[i] else {
        return None;
    };
    for v in values {
        c.push(v.as_deref());
    }
    Some((i, rows.columns.swap_remove(i)))
}

/// Rows of `table` with the key fields filled from `values` (one vector per key field).
fn rows_of(table: &str, values: &BTreeMap<&str, Vec<Option<String>>>, n: usize) -> Rows {
    let def = registry().table(table).expect("registry table");
    let mut rows = Rows::new(def);
    for (i, f) in def.fields.iter().enumerate() {
        let col = match values.get(f.name.as_str()) {
            Some(v) => column(table, &f.name, v).expect("text key field").1,
            None => {
                let mut c = Column::new(f.ty, n);
                for _ in 0..n {
                    match &mut c {
                        Column::Text(s) => s.push(None),
                        Column::Int(x) => x.push(None),
                        Column::Real(x) => x.push(None),
                    }
                }
                c
            }
        };
        rows.columns[i] = col;
    }
    if def.geometry.is_some() {
        rows.geoms = vec![None; n];
    }
    rows
}

fn text(rows: &Rows, i: usize) -> Vec<Option<String>> {
    match &rows.columns[i] {
        Column::Text(c) => c.iter().map(|v| v.map(str::to_string)).collect(),
        _ => panic!("key fields are text"),
    }
}

fn check(table: &str, n: usize, cols: Vec<Vec<Option<String>>>) {
    let def = registry().table(table).expect("registry table");
    let keys: Vec<&str> = ["ZDDM", "BDCDYH", "ZRZH", "QXDM"]
        .into_iter()
        .filter(|k| def.field_index(k).is_some())
        .collect();
    let values: BTreeMap<&str, Vec<Option<String>>> = keys.iter().copied().zip(cols).collect();
    let original = rows_of(table, &values, n);
    let mut rows = original.clone();
    let crosswalk = rekey(&mut rows, table, true);

    let mut entries: HashSet<(usize, &str)> = HashSet::new();
    let mut forward: BTreeMap<(&str, String), String> = BTreeMap::new();
    let mut backward: BTreeMap<(&str, String), String> = BTreeMap::new();
    for (r, key, old, new) in crosswalk.iter() {
        assert!(entries.insert((r, key)), "one entry per changed cell");
        let current = codelists()
            .new_admin_code(&old[..6])
            .expect("only legacy admin codes are re-keyed");
        assert_eq!(&new[..6], current);
        assert_eq!(&old[6..], &new[6..], "only the county prefix changes");
        if let Some(prev) = forward.insert((key, old.to_string()), new.to_string()) {
            assert_eq!(prev, new, "one old value, one new value");
        }
        if let Some(prev) = backward.insert((key, new.to_string()), old.to_string()) {
            assert_eq!(prev, old, "two old values became {new}: not reversible");
        }
    }
    for k in &keys {
        let i = def.field_index(k).expect("key field");
        let (before, after) = (text(&original, i), text(&rows, i));
        for r in 0..n {
            if before[r] != after[r] {
                assert!(
                    entries.contains(&(r, *k)),
                    "{k} row {r} changed without a crosswalk entry"
                );
                assert_eq!(
                    after[r].as_deref(),
                    crosswalk
                        .iter()
                        .find(|e| e.0 == r && e.1 == *k)
                        .map(|e| e.3)
                );
            } else {
                assert!(
                    !entries.contains(&(r, *k)),
                    "{k} row {r} has an entry but did not change"
                );
            }
        }
    }
    // backwards through the crosswalk: exactly the rows that came in
    let mut restored = rows.clone();
    for (r, key, old, _new) in crosswalk.iter() {
        let i = def.field_index(key).expect("key field");
        let Column::Text(c) = &restored.columns[i] else {
            panic!("key fields are text")
        };
        let mut vals: Vec<Option<String>> = c.iter().map(|v| v.map(str::to_string)).collect();
        vals[r] = Some(old.to_string());
        restored.columns[i] = column(table, key, &vals).expect("text key").1;
    }
    for k in &keys {
        let i = def.field_index(k).expect("key field");
        assert_eq!(text(&restored, i), text(&original, i), "{k} restored");
    }
}

fn table_case(nkeys: usize) -> impl Strategy<Value = (usize, Vec<Vec<Option<String>>>)> {
    (0usize..40).prop_flat_map(move |n| {
        (
            Just(n),
            prop::collection::vec(prop::collection::vec(value(), n), nkeys),
        )
    })
}

fn key_count(table: &str) -> usize {
    let def = registry().table(table).expect("registry table");
    ["ZDDM", "BDCDYH", "ZRZH", "QXDM"]
        .iter()
        .filter(|k| def.field_index(k).is_some())
        .count()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, ..ProptestConfig::default() })]

    #[test]
    fn parcels_rekey_reversibly((n, cols) in table_case(key_count("ZDJBXX"))) {
        check("ZDJBXX", n, cols);
    }

    #[test]
    fn buildings_rekey_reversibly((n, cols) in table_case(key_count("ZRZ"))) {
        check("ZRZ", n, cols);
    }

    #[test]
    fn rights_rekey_reversibly((n, cols) in table_case(key_count("JSYDSYQ"))) {
        check("JSYDSYQ", n, cols);
    }
}
