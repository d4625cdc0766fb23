//! [`read_shapefile`]: a whole shapefile set into memory, geometry and attributes row-aligned.
//!
//! Rows: one per record of the .shp and .dbf (the longer of the two; records of the shorter file
//! that are missing get a null geometry or null attributes and a problem), minus DBF records
//! flagged deleted, which are skipped and counted as GDAL does. Nothing else is ever dropped.

use crate::dbf::{decode_dbf, DbfTable, FieldRename};
use crate::encoding::{EncodingDecision, TextEncoding};
use crate::error::ShpError;
use crate::field::DbfField;
use crate::problem::{ProblemKind, RecordProblem};
use crate::shape_type::ShapeType;
use crate::shp;
use cadastra_model::StrColumn;
use geo_types::Geometry;
use std::path::{Path, PathBuf};

/// How to read.
#[derive(Debug, Clone, Default)]
pub struct ReadOptions {
    /// Decode DBF text with this encoding whatever the files declare (`encoding_rs::GBK.into()`).
    pub encoding: Option<TextEncoding>,
    /// The text is known to be Chinese: when nothing is declared and the text is not UTF-8,
    /// detection chooses only among GBK/GB18030 and Big5.
    pub chinese: bool,
    /// Worker threads; `None` uses rayon's global pool.
    pub threads: Option<usize>,
    /// Refuse a shapefile without .shx (GDAL's default) instead of rebuilding the index by
    /// scanning the .shp (GDAL's `SHAPE_RESTORE_SHX=YES`).
    pub refuse_missing_shx: bool,
    /// Copy files into memory instead of memory-mapping the large ones (1 MiB and more).
    /// Mapping is faster; copy when another process may truncate the files during the read
    /// (a truncated mapping faults the process instead of returning an error).
    pub no_mmap: bool,
}

/// A file's bytes: memory-mapped, or read into memory.
pub(crate) enum FileBytes {
    Mapped(memmap2::Mmap),
    Owned(Vec<u8>),
}

impl std::ops::Deref for FileBytes {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        match self {
            FileBytes::Mapped(m) => m,
            FileBytes::Owned(v) => v,
        }
    }
}

/// Open a file for reading: mapped when large (unless `no_mmap`), else read.
pub(crate) fn load(path: &Path, opts: &ReadOptions) -> Result<FileBytes, ShpError> {
    use std::io::Read;
    let mut file = std::fs::File::open(path).map_err(|e| ShpError::io(path, e))?;
    let len = file.metadata().map_err(|e| ShpError::io(path, e))?.len();
    if !opts.no_mmap && len >= 1 << 20 {
        // SAFETY: the map is read-only and private to this call; its bytes are only read
        // through the returned slice. The one hazard, another process truncating the file
        // while it is mapped, is documented on `ReadOptions::no_mmap`.
        #[allow(unsafe_code)] // memory-mapping is the only way to read without copying
        let map = unsafe { memmap2::Mmap::map(&file) };
        if let Ok(map) = map {
            return Ok(FileBytes::Mapped(map));
        }
    }
    let mut bytes = Vec::with_capacity(usize::try_from(len).unwrap_or(0));
    file.read_to_end(&mut bytes)
        .map_err(|e| ShpError::io(path, e))?;
    Ok(FileBytes::Owned(bytes))
}

/// A shapefile read into memory.
#[derive(Debug, Clone)]
pub struct ShpLayer {
    /// The .shp file.
    pub path: PathBuf,
    /// Shape type in the .shp header (Z/M variants included; geometries are 2D, Z/M dropped).
    pub shape_type: ShapeType,
    /// Bounding box in the .shp header: xmin, ymin, xmax, ymax.
    pub bbox: [f64; 4],
    /// DBF fields with decoded, unique names; empty without a .dbf.
    pub fields: Vec<DbfField>,
    /// Fields renamed to keep names unique.
    pub renamed_fields: Vec<FieldRename>,
    /// One text column per field, one value per row.
    pub columns: Vec<StrColumn>,
    /// One geometry per row: `Polygon` or `MultiPolygon` (several shells), `LineString` /
    /// `MultiLineString`, `Point`, `MultiPoint`; `None` for null shapes and unreadable records.
    pub geoms: Vec<Option<Geometry<f64>>>,
    /// Record number (0-based, GDAL's FID) of every row.
    pub source_records: Vec<usize>,
    /// How the DBF text was decoded; `None` without a readable .dbf.
    pub encoding: Option<EncodingDecision>,
    /// The .prj text when it is WKT (an HTML page or other junk is dropped with a warning).
    pub prj: Option<String>,
    /// DBF records flagged deleted and skipped, by record number.
    pub deleted_records: Vec<usize>,
    /// Per-record problems, sorted by row.
    pub problems: Vec<RecordProblem>,
    /// File-level warnings, each naming its file.
    pub warnings: Vec<String>,
    /// The index was rebuilt by scanning the .shp (no .shx, or a truncated one).
    pub shx_rebuilt: bool,
}

impl ShpLayer {
    /// Rows returned.
    pub fn len(&self) -> usize {
        self.source_records.len()
    }
    /// No rows.
    pub fn is_empty(&self) -> bool {
        self.source_records.is_empty()
    }
    /// Count of deleted DBF records skipped.
    pub fn deleted_skipped(&self) -> usize {
        self.deleted_records.len()
    }
    /// Column of the field called `name` (exact match first, then ASCII case-insensitive).
    pub fn column(&self, name: &str) -> Option<&StrColumn> {
        let i = self
            .fields
            .iter()
            .position(|f| f.name == name)
            .or_else(|| {
                self.fields
                    .iter()
                    .position(|f| f.name.eq_ignore_ascii_case(name))
            })?;
        self.columns.get(i)
    }
    /// The geometry of `row` as a multipolygon (`None` for null and non-polygon geometries).
    pub fn multipolygon(&self, row: usize) -> Option<cadastra_model::Geom> {
        match self.geoms.get(row)? {
            Some(Geometry::Polygon(p)) => Some(geo_types::MultiPolygon(vec![p.clone()])),
            Some(Geometry::MultiPolygon(m)) => Some(m.clone()),
            _ => None,
        }
    }
}

/// The files of one shapefile set, found case-insensitively next to the given path.
pub(crate) struct Companions {
    stem: PathBuf,
    pub shp: Option<PathBuf>,
    pub dbf: Option<PathBuf>,
    listing: Option<Vec<PathBuf>>,
}

impl Companions {
    pub(crate) fn find(path: &Path) -> Companions {
        let stem = if path.extension().is_some() {
            path.with_extension("")
        } else {
            path.to_path_buf()
        };
        let mut c = Companions {
            stem,
            shp: None,
            dbf: None,
            listing: None,
        };
        c.shp = c.get("shp");
        c.dbf = c.get("dbf");
        c
    }

    /// The companion with extension `ext` (tried as is, upper case, then any case).
    pub(crate) fn get(&mut self, ext: &str) -> Option<PathBuf> {
        let name = self.stem.file_name()?.to_string_lossy().into_owned();
        for e in [ext.to_string(), ext.to_ascii_uppercase()] {
            let p = self.stem.with_file_name(format!("{name}.{e}"));
            if p.is_file() {
                return Some(p);
            }
        }
        if self.listing.is_none() {
            let dir = match self.stem.parent() {
                Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
                _ => PathBuf::from("."),
            };
            self.listing = Some(
                std::fs::read_dir(&dir)
                    .map(|rd| rd.filter_map(|e| e.ok().map(|e| e.path())).collect())
                    .unwrap_or_default(),
            );
        }
        let want = format!("{name}.{ext}").to_lowercase();
        self.listing
            .as_ref()?
            .iter()
            .find(|p| {
                p.file_name()
                    .is_some_and(|f| f.to_string_lossy().to_lowercase() == want)
            })
            .cloned()
    }

    /// Text of a small companion (.cpg, .cst, .prj), lossy UTF-8; `None` when absent.
    pub(crate) fn read_text(&mut self, ext: &str) -> Result<Option<String>, ShpError> {
        let Some(p) = self.get(ext) else {
            return Ok(None);
        };
        let bytes = std::fs::read(&p).map_err(|e| ShpError::io(&p, e))?;
        Ok(Some(String::from_utf8_lossy(&bytes).into_owned()))
    }
}

/// Run `f` in a pool of `opts.threads` workers (or rayon's global pool).
pub(crate) fn with_pool<T: Send>(opts: &ReadOptions, f: impl FnOnce() -> T + Send) -> T {
    match opts.threads {
        Some(n) => match rayon::ThreadPoolBuilder::new()
            .num_threads(n.max(1))
            .build()
        {
            Ok(pool) => pool.install(f),
            Err(_) => f(),
        },
        None => f(),
    }
}

fn is_wkt(text: &str) -> bool {
    let t = text
        .trim_start_matches('\u{FEFF}')
        .trim_start()
        .to_ascii_uppercase();
    [
        "PROJCS[",
        "GEOGCS[",
        "GEOCCS[",
        "COMPD_CS[",
        "LOCAL_CS[",
        "VERT_CS[",
        "PROJCRS[",
        "GEOGCRS[",
        "GEODCRS[",
        "BOUNDCRS[",
        "COMPOUNDCRS[",
        "VERTCRS[",
        "ENGCRS[",
        "PROJECTEDCRS[",
        "GEOGRAPHICCRS[",
        "GEODETICCRS[",
        "ENGINEERINGCRS[",
    ]
    .iter()
    .any(|k| t.starts_with(k))
}

/// Read a shapefile set: `path` may name the .shp or any companion (the extension is
/// replaced). Needs the .shp; rebuilds a missing .shx (unless refused); reads geometry only,
/// with a warning, when the .dbf is absent or unreadable.
///
/// Refuses (with an error naming the file) what is not a shapefile: a .shp or .shx without the
/// 9994 file code, a header shorter than 100 bytes, an unknown layer shape type.
pub fn read_shapefile(path: &Path, opts: &ReadOptions) -> Result<ShpLayer, ShpError> {
    if path
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("zip"))
    {
        return Err(ShpError::NotAShapefile {
            path: path.to_path_buf(),
            reason: "a zip archive: unpack it and read the .shp".into(),
        });
    }
    let mut files = Companions::find(path);
    let shp_path = files.shp.clone().ok_or_else(|| ShpError::Missing {
        path: files.stem.with_extension("shp"),
    })?;
    let shp_bytes = load(&shp_path, opts)?;
    let header = shp::parse_header(&shp_path, &shp_bytes)?;
    let shape_type =
        ShapeType::from_code(header.shape_type).ok_or_else(|| ShpError::NotAShapefile {
            path: shp_path.clone(),
            reason: format!(
                "shape type {} in the header is not a shapefile type",
                header.shape_type
            ),
        })?;
    let mut warnings = Vec::new();

    let shx_rebuilt;
    let index = match files.get("shx") {
        Some(shx_path) => {
            let shx = load(&shx_path, opts)?;
            match shp::index_from_shx(
                &shx_path,
                &shx,
                &shp_path,
                &shp_bytes,
                &header,
                &mut warnings,
            )? {
                Some((index, scanned)) => {
                    shx_rebuilt = scanned;
                    index
                }
                None => {
                    shx_rebuilt = true;
                    shp::index_by_scan(&shp_path, &shp_bytes, &header, &mut warnings).0
                }
            }
        }
        None if opts.refuse_missing_shx => {
            return Err(ShpError::Missing {
                path: files.stem.with_extension("shx"),
            })
        }
        None => {
            warnings.push(format!(
                "{}: no .shx: index rebuilt by scanning the .shp (as GDAL's SHAPE_RESTORE_SHX)",
                shp_path.display()
            ));
            shx_rebuilt = true;
            shp::index_by_scan(&shp_path, &shp_bytes, &header, &mut warnings).0
        }
    };
    let n_shp = index.len();

    let cpg = files.read_text("cpg")?;
    let cst = files.read_text("cst")?;
    let prj = match files.read_text("prj")? {
        Some(t) if is_wkt(&t) => Some(t.trim_start_matches('\u{FEFF}').trim().to_string()),
        Some(t) => {
            let head: String = t.trim().chars().take(40).collect();
            warnings.push(format!(
                "{}: .prj is not WKT ({head:?}...): CRS unknown",
                files.stem.with_extension("prj").display()
            ));
            None
        }
        None => None,
    };
    let dbf_path = files.dbf.clone();
    let dbf_bytes = match &dbf_path {
        Some(p) => Some(load(p, opts)?),
        None => None,
    };

    // shapes and attributes are independent: decode both at once, each in parallel
    let ((geoms, shp_problems), table) = with_pool(opts, || {
        rayon::join(
            || shp::read_records(&shp_bytes, &index, shape_type),
            || match (&dbf_path, &dbf_bytes) {
                (Some(p), Some(b)) => Some(decode_dbf(
                    p,
                    b,
                    opts,
                    cpg.as_deref(),
                    cst.as_deref(),
                    n_shp,
                )),
                _ => None,
            },
        )
    });
    let table: Option<DbfTable> = match table {
        Some(Ok(t)) => Some(t),
        Some(Err(ShpError::BadDbf { path, reason })) => {
            warnings.push(format!(
                "{}: not a readable dbf ({reason}): geometry only",
                path.display()
            ));
            None
        }
        Some(Err(e)) => return Err(e),
        None => {
            warnings.push(format!(
                "{}: no .dbf: geometry only",
                files.stem.with_extension("dbf").display()
            ));
            None
        }
    };

    let mut layer = ShpLayer {
        path: shp_path,
        shape_type,
        bbox: header.bbox,
        fields: Vec::new(),
        renamed_fields: Vec::new(),
        columns: Vec::new(),
        geoms: Vec::new(),
        source_records: Vec::new(),
        encoding: None,
        prj,
        deleted_records: Vec::new(),
        problems: Vec::new(),
        warnings,
        shx_rebuilt,
    };
    match table {
        None => {
            layer.geoms = geoms;
            layer.source_records = (0..n_shp).collect();
            layer.problems = shp_problems;
        }
        Some(t) => {
            let n_dbf = t.records_in_file;
            if n_dbf != n_shp {
                layer.warnings.push(format!(
                    "{}: {n_shp} shape records but {n_dbf} dbf records: {} rows, the missing side null",
                    layer.path.display(),
                    n_shp.max(n_dbf)
                ));
            }
            // rows are the dbf's live records (it already covers 0..max(n_shp, n_dbf))
            let mut row_of =
                vec![usize::MAX; n_shp.max(t.source_records.last().map_or(0, |r| r + 1))];
            for (row, &rec) in t.source_records.iter().enumerate() {
                row_of[rec] = row;
            }
            let mut geoms = geoms;
            let identity = t.deleted_records.is_empty() && t.source_records.len() == n_shp;
            layer.geoms = if identity {
                geoms
            } else {
                t.source_records
                    .iter()
                    .map(|&rec| geoms.get_mut(rec).and_then(Option::take))
                    .collect()
            };
            let mut problems = t.problems;
            for mut p in shp_problems {
                if let Some(&row) = row_of.get(p.record) {
                    if row != usize::MAX {
                        p.row = row;
                        problems.push(p);
                    }
                }
            }
            for (row, &rec) in t.source_records.iter().enumerate() {
                if rec >= n_shp {
                    problems.push(RecordProblem {
                        row,
                        record: rec,
                        field: None,
                        kind: ProblemKind::NoShapeRecord,
                        reason: format!("the .shp has only {n_shp} records: geometry null"),
                        raw: Vec::new(),
                    });
                }
            }
            problems.sort_by_key(|p| p.row);
            layer.problems = problems;
            layer.fields = t.fields;
            layer.renamed_fields = t.renamed_fields;
            layer.columns = t.columns;
            layer.source_records = t.source_records;
            layer.encoding = Some(t.encoding);
            layer.deleted_records = t.deleted_records;
            layer.warnings.extend(t.warnings);
        }
    }
    Ok(layer)
}
