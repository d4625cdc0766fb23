//! The `cadastra` binary: argument parsing, progress bars, exit codes. Kept thin: the work is in
//! the library crates.
//!
//! Exit codes: 0 success; 1 findings at or above `--fail-on`; 2 could not run (bad input, bad
//! pipeline, registry problem). Progress goes to stderr, results to stdout.

mod commands;
mod progress;

use clap::{Parser, Subcommand};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Parser, Debug)]
#[command(
    name = "cadastra",
    version,
    about = "Migrate legacy cadastral and registration data into one registry, checked the way a surveyor would"
)]
pub struct Cli {
    /// no progress bars or notes on stderr
    #[arg(short, long, global = true)]
    pub quiet: bool,
    /// machine-readable JSON on stdout instead of the human summary
    #[arg(long, global = true)]
    pub json: bool,
    /// worker threads (default: all cores)
    #[arg(long, global = true)]
    pub threads: Option<usize>,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Generate the deterministic legacy sample world (Laiwu, Gangcheng, Jinan)
    Sample {
        #[arg(long)]
        out: PathBuf,
        /// legacy parcels in total (Laiwu + Gangcheng)
        #[arg(long, default_value_t = 3000)]
        parcels: usize,
        #[arg(long, default_value_t = 2019)]
        seed: u64,
    },
    /// Check a pipeline file without moving data: every problem, with its line
    Check { pipeline: PathBuf },
    /// Run a pipeline: ingest, map, reproject, validate, merge into the registry
    Run {
        pipeline: PathBuf,
        /// registry GeoPackage path or postgresql:// URL
        #[arg(long, default_value = "out/registry.gpkg")]
        registry: String,
        /// folder for the run's reports
        #[arg(long, default_value = "out")]
        out: PathBuf,
        /// a filled-in decisions sheet (CSV or XLSX) for held conflicts
        #[arg(long)]
        decisions: Option<PathBuf>,
        /// show personal data unmasked in review outputs (recorded in the audit table)
        #[arg(long)]
        unmask: bool,
    },
    /// Ingest and validate a pipeline without touching the registry
    ///
    /// With a pipeline file: its sources, mapping and rules. With plain files (`--as parcel|building`):
    /// the rules that need no mapping (GEOM, TOPO, and UNIT/ATTR where the fields carry the registry's
    /// names), in the files' own CRS. Writes out/findings.gpkg, findings.csv, findings-by-rule.json.
    Validate {
        /// a pipeline file, or data files (any format ingestion reads)
        #[arg(required = true)]
        inputs: Vec<PathBuf>,
        /// what plain files hold: parcel (宗地) or building (自然幢)
        #[arg(long = "as", value_parser = ["parcel", "building"])]
        as_layer: Option<String>,
        /// the field that identifies a feature (default: ZDDM / ZRZH / BDCDYH if present, else the record number)
        #[arg(long)]
        key: Option<String>,
        /// with a pipeline file: validate only this source (repeatable), e.g. the parcels and
        /// buildings without the registration tables
        #[arg(long = "source", value_name = "NAME")]
        sources: Vec<String>,
        #[arg(long, default_value = "out")]
        out: PathBuf,
    },
    /// Coordinate operations: fit 4-/7-parameter transformations from control points
    Crs {
        #[command(subcommand)]
        command: CrsCommand,
    },
    /// Print the JSON Schema of pipeline files
    Schema,
    // ---- cadastra export (crates/cadastra-export)
    /// Export registry layers: GeoPackage (QGIS-styled, with a .qgz), Shapefile, FlatGeobuf,
    /// GeoParquet (partitioned by district) or CSV with WKT
    ///
    /// Personal data (names, ID numbers, phones, addresses) is masked unless --unmask is given.
    Export {
        /// registry GeoPackage path or postgresql:// URL
        #[arg(long, default_value = "out/registry.gpkg")]
        registry: String,
        #[arg(long, value_parser = ["gpkg", "shp", "fgb", "geoparquet", "csv"])]
        format: String,
        /// a .gpkg file; a folder for shp, fgb, geoparquet and csv (or one .fgb/.csv for one layer)
        #[arg(long)]
        out: PathBuf,
        /// layer(s) to export, repeatable or comma-separated (default: the registry's data
        /// tables and the findings layers)
        #[arg(long)]
        layer: Vec<String>,
        /// filter: `FIELD = 'value'`, `FIELD LIKE '3701%'`, `<`, `>=`, `IN ('a','b')`,
        /// `IS [NOT] NULL`, combined with AND / OR / NOT and parentheses
        #[arg(long = "where")]
        filter: Option<String>,
        /// only one district (county code, e.g. 370116; 371202 is taken as 370116)
        #[arg(long)]
        district: Option<String>,
        /// write personal data unmasked
        #[arg(long)]
        unmask: bool,
    },
    /// Show what a delivery holds: layers, counts, geometry, extent, CRS, encoding, fields
    Inspect {
        paths: Vec<PathBuf>,
        /// encoding override for DBF/CSV files
        #[arg(long)]
        encoding: Option<String>,
        /// the data is Chinese: undeclared text is decided among GBK, GB18030 and Big5
        #[arg(long)]
        chinese: bool,
    },
}

#[derive(Subcommand, Debug)]
pub enum CrsCommand {
    /// Least-squares fit from common points (CSV `name,src_e,src_n,dst_e,dst_n`, metres); prints the
    /// residual per point and RMS, flags points beyond the CRS-06 tolerances, writes the parameter
    /// file a pipeline's [crs] section names (never printed)
    Fit {
        /// control points CSV; survey-style `src_x,src_y,dst_x,dst_y` headers need --x-north or --x-east
        #[arg(long)]
        control: PathBuf,
        /// 4p (plane similarity) or 7p (Bursa-Wolf)
        #[arg(long, value_parser = ["4p", "7p"])]
        model: String,
        /// 7p rotation convention; without it both are fitted and the better one recommended
        #[arg(long, value_parser = ["position_vector", "coordinate_frame"])]
        convention: Option<String>,
        /// grid of src_e/src_n: an EPSG code, or local[:name] (default: local for 4p, EPSG:2384 for 7p)
        #[arg(long)]
        source: Option<String>,
        /// grid of dst_e/dst_n
        #[arg(long, default_value = "EPSG:4548")]
        target: String,
        /// survey-style X/Y columns: X is north (Chinese survey convention)
        #[arg(long, conflicts_with = "x_east")]
        x_north: bool,
        /// survey-style X/Y columns: X is east
        #[arg(long)]
        x_east: bool,
        /// the parameter file to write (kept secret: mode 0600)
        #[arg(long)]
        out: PathBuf,
    },
}

fn main() -> ExitCode {
    cadastra_alloc::tune();
    // before anything (GDAL included) initialises SQLite: a later call has no effect, and SQLite's
    // memory statistics then take a global mutex on every allocation of the registry write
    cadastra_io::gpkg::configure_sqlite();
    let cli = Cli::parse();
    if let Some(n) = cli.threads {
        let _ = rayon::ThreadPoolBuilder::new()
            .num_threads(n)
            .build_global();
    }
    match commands::dispatch(&cli) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("cadastra: error: {e:#}");
            ExitCode::from(2)
        }
    }
}
