//! Helpers: run the binary, copy the sample world, read registries.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .expect("repository root")
}

pub fn bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_cadastra"))
}

/// Run cadastra with arguments in `cwd`; returns the output.
pub fn cadastra(cwd: &Path, args: &[&str]) -> Output {
    Command::new(bin())
        .current_dir(cwd)
        .args(args)
        .output()
        .expect("cadastra runs")
}

pub fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// Copy a directory tree.
pub fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let p = e.path();
        let t = to.join(e.file_name());
        if p.is_dir() {
            copy_dir(&p, &t);
        } else {
            std::fs::copy(&p, &t).unwrap();
        }
    }
}

/// A temp workspace with `sample-data/` and `pipelines/` copied from the repository, so tests
/// can damage files and write registries without touching the repository.
pub fn workspace() -> tempfile::TempDir {
    let d = tempfile::tempdir().unwrap();
    copy_dir(&root().join("sample-data"), &d.path().join("sample-data"));
    copy_dir(&root().join("pipelines"), &d.path().join("pipelines"));
    // the local-grid homesteads need their fitted 4-parameter file, as the demo does first
    fit_local_grid(d.path());
    d
}

/// `cadastra crs fit` of the local-grid control points into `out/fdyt_local_grid.toml` under `dir`.
pub fn fit_local_grid(dir: &Path) {
    let o = cadastra(
        dir,
        &[
            "--quiet",
            "crs",
            "fit",
            "--control",
            "sample-data/operator/local_grid_control.csv",
            "--model",
            "4p",
            "--out",
            "out/fdyt_local_grid.toml",
        ],
    );
    assert!(o.status.success(), "crs fit: {}", text(&o));
}

/// Row count of a table in a GeoPackage/SQLite file.
pub fn count(db: &Path, table: &str) -> i64 {
    let c = rusqlite::Connection::open(db).unwrap();
    c.query_row(&format!("SELECT count(*) FROM \"{table}\""), [], |r| {
        r.get(0)
    })
    .unwrap()
}

pub fn sha256(p: &Path) -> Vec<u8> {
    use std::io::Read;
    let mut f = std::fs::File::open(p).unwrap();
    let mut b = Vec::new();
    f.read_to_end(&mut b).unwrap();
    // a cheap, stable digest is enough to compare "exactly as before"
    let mut h: u64 = 0xcbf29ce484222325;
    for x in &b {
        h = (h ^ *x as u64).wrapping_mul(0x100000001b3);
    }
    [
        h.to_le_bytes().to_vec(),
        (b.len() as u64).to_le_bytes().to_vec(),
    ]
    .concat()
}
