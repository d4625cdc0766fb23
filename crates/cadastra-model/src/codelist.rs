//! Code lists (value domains) from `schemas/codelists.toml`, and the 2019 admin-code crosswalk.

use serde::Deserialize;
use std::collections::BTreeMap;
use std::sync::OnceLock;

pub const CODELISTS_TOML: &str = include_str!("../../../schemas/codelists.toml");

#[derive(Debug, Clone, Deserialize)]
pub struct CodeList {
    pub zh: String,
    #[serde(default)]
    pub version: Option<String>,
    pub codes: BTreeMap<String, String>,
}

impl CodeList {
    pub fn contains(&self, code: &str) -> bool {
        self.codes.contains_key(code)
    }
    pub fn name(&self, code: &str) -> Option<&str> {
        self.codes.get(code).map(String::as_str)
    }
}

#[derive(Debug, Clone, Deserialize)]
pub struct Crosswalk {
    pub zh: String,
    pub from: String,
    pub to: String,
    pub codes: BTreeMap<String, String>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct CodeLists {
    pub lists: BTreeMap<String, CodeList>,
    pub admin_crosswalk: BTreeMap<String, String>,
    #[serde(default)]
    pub crosswalks: BTreeMap<String, Crosswalk>,
}

impl CodeLists {
    pub fn list(&self, name: &str) -> Option<&CodeList> {
        self.lists.get(name)
    }
    pub fn crosswalk(&self, name: &str) -> Option<&Crosswalk> {
        self.crosswalks.get(name)
    }
    /// New county code for a pre-2019 code (371202 -> 370116), or `None` if the code did not change.
    pub fn new_admin_code(&self, old: &str) -> Option<&str> {
        self.admin_crosswalk.get(old).map(String::as_str)
    }
    /// The land-use list for a declared classification version.
    pub fn land_use(&self, version: &str) -> Option<&CodeList> {
        self.lists
            .values()
            .find(|l| l.version.as_deref() == Some(version))
    }
}

/// The code lists compiled into this binary.
pub fn codelists() -> &'static CodeLists {
    static CL: OnceLock<CodeLists> = OnceLock::new();
    // checked by the unit test below; a parse failure here is a build defect
    CL.get_or_init(|| toml::from_str(CODELISTS_TOML).expect("schemas/codelists.toml parses"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_and_crosswalks_load() {
        let cl = codelists();
        assert_eq!(
            cl.list("QLLX").unwrap().name("6"),
            Some("宅基地使用权/房屋(构筑物)所有权")
        );
        assert_eq!(cl.new_admin_code("371202"), Some("370116"));
        assert_eq!(cl.new_admin_code("371203"), Some("370117"));
        assert_eq!(cl.new_admin_code("370114"), None);
        let yt = cl.land_use("GB/T 21010-2017").unwrap();
        assert!(yt.contains("0702"));
        let cw = cl.crosswalk("YT2007_TO_2017").unwrap();
        // every target of the 2007 -> 2017 crosswalk is a 2017 code, every source a 2007 code
        let y07 = cl.land_use("GB/T 21010-2007").unwrap();
        for (a, b) in &cw.codes {
            assert!(y07.contains(a), "{a}");
            assert!(yt.contains(b), "{a} -> {b}");
        }
    }
}
