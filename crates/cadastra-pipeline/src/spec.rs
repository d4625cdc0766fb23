//! The pipeline file as written (TOML), parsed so that every problem is reported with its line.
//!
//! Each section, each source, each target and each field mapping is deserialised on its own from
//! the spanned TOML tree, so one mistake does not hide the next.

use schemars::JsonSchema;
use serde::Deserialize;
use std::collections::BTreeMap;
use toml::de::{DeTable, DeValue};
use toml::Spanned;

/// `[pipeline]`: what this file is.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PipelineSection {
    /// short name, used in run ids and reports
    pub name: String,
    /// batch id written into every row's provenance (`batch_id`)
    pub batch: String,
    #[serde(default)]
    pub description: Option<String>,
    /// registry CRS; only EPSG:4548 (CGCS2000 / 3-degree GK CM 117E) is supported
    #[serde(default)]
    pub registry_crs: Option<String>,
    /// other pipeline files (relative to this one) whose sources and CRS operations are run too
    #[serde(default)]
    pub include: Vec<String>,
}

/// `[crs.NAME]`: an explicit coordinate operation from a legacy CRS to the registry CRS.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CrsSpec {
    /// the source CRS as declared by the delivery, e.g. "EPSG:2384" or "EPSG:2363"; "local" for a
    /// local grid whose 4-parameter transformation comes from the parameter file
    pub source: String,
    /// operator parameter file (relative to the pipeline file); else `$CADASTRA_CRS_PARAMS`
    #[serde(default)]
    pub params: Option<String>,
    /// allow PROJ's ballpark (no-op) datum change; refused unless said in as many words
    #[serde(default)]
    pub allow_ballpark: bool,
    /// a CRS guessed by `cadastra inspect` must be confirmed here before `run` uses it
    #[serde(default)]
    pub confirmed: bool,
}

/// `when = { field = "QLLX", in = ["3", "5"] }`: route only rows whose field has one of these values.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct WhenSpec {
    pub field: String,
    #[serde(rename = "in")]
    pub values: Vec<String>,
}

/// How one registry field is filled.
#[derive(Debug, Clone, Deserialize, JsonSchema, Default)]
#[serde(deny_unknown_fields)]
pub struct FieldMap {
    /// source field
    #[serde(default)]
    pub from: Option<String>,
    /// a constant value
    #[serde(default, rename = "const")]
    pub constant: Option<String>,
    /// concatenation of source fields and 'quoted literals'
    #[serde(default)]
    pub concat: Option<Vec<String>>,
    /// value map applied after normalisation (legacy value -> registry value)
    #[serde(default)]
    pub map: Option<BTreeMap<String, String>>,
    /// a code crosswalk from schemas/codelists.toml, e.g. "YT2007_TO_2017"
    #[serde(default)]
    pub crosswalk: Option<String>,
    /// unit of an area value: "m2", "mu" (亩) or "ha" (公顷); converted to m²
    #[serde(default)]
    pub unit: Option<String>,
    /// source field holding the area unit (1/2/3 or 平方米/亩/公顷); converted to m²
    #[serde(default)]
    pub unit_field: Option<String>,
    /// left-pad a code with zeros to this width
    #[serde(default)]
    pub pad: Option<usize>,
    /// characters [start, end) of the normalised value (0-based)
    #[serde(default)]
    pub slice: Option<[usize; 2]>,
    /// value used when the source is empty or a placeholder
    #[serde(default)]
    pub default: Option<String>,
}

/// A field mapping: `"SRC"` (copy) or a table.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum FieldSpec {
    From(String),
    Map(Box<FieldMap>),
}

impl FieldSpec {
    pub fn to_map(&self) -> FieldMap {
        match self {
            FieldSpec::From(s) => FieldMap {
                from: Some(s.clone()),
                ..Default::default()
            },
            FieldSpec::Map(m) => (**m).clone(),
        }
    }
}

/// `[[source.target]]`: rows of the source going to one registry table.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TargetSpec {
    /// registry table (ZDJBXX, ZRZ, H, QLR, JSYDSYQ, FDCQ2, NYDSYQ, LQ)
    pub table: String,
    #[serde(default)]
    pub when: Option<WhenSpec>,
    /// registry field -> mapping
    #[serde(default)]
    pub fields: BTreeMap<String, FieldSpec>,
    /// byte spans of the field mappings and of `table` (for messages)
    #[serde(skip)]
    #[schemars(skip)]
    pub spans: BTreeMap<String, std::ops::Range<usize>>,
}

/// A legacy key made of one or several source fields (joined with `|`).
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum KeySpec {
    One(String),
    Many(Vec<String>),
}

impl KeySpec {
    pub fn fields(&self) -> Vec<String> {
        match self {
            KeySpec::One(s) => vec![s.clone()],
            KeySpec::Many(v) => v.clone(),
        }
    }
}

/// `[[source]]`: one file (or layer, or sheet) of a legacy delivery.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SourceSpecHead {
    pub name: String,
    /// the legacy system it comes from (written to `src_system`), e.g. "laiwu"
    pub system: String,
    /// source driver: shapefile, gdal, csv, xlsx
    #[serde(rename = "type")]
    pub kind: String,
    /// path relative to the pipeline file
    pub path: String,
    /// layer of a multi-layer GDAL dataset
    #[serde(default)]
    pub layer: Option<String>,
    /// sheet of a workbook
    #[serde(default)]
    pub sheet: Option<String>,
    /// "auto" (default) or an encoding label (GBK, UTF-8, Big5, ...)
    #[serde(default)]
    pub encoding: Option<String>,
    /// the data is Chinese: restrict encoding detection to Chinese encodings
    #[serde(default)]
    pub chinese: Option<bool>,
    /// rebuild a missing .shx by scanning the .shp (GDAL's SHAPE_RESTORE_SHX); refused by default
    #[serde(default)]
    pub restore_shx: Option<bool>,
    /// CSV delimiter (default ",")
    #[serde(default)]
    pub delimiter: Option<String>,
    /// name of a [crs.*] operation, or the registry CRS itself; required for geometry sources
    #[serde(default)]
    pub crs: Option<String>,
    /// legacy key field(s), unique within the source
    pub key: KeySpec,
}

/// `[validation]` options: rule severities and tolerances per pipeline.
#[derive(Debug, Clone, Deserialize, JsonSchema, Default)]
#[serde(deny_unknown_fields)]
pub struct ValidationSpec {
    /// block severity-E findings from loading (they go to quarantine with the finding); default true
    #[serde(default)]
    pub block_errors: Option<bool>,
    /// per-rule options, e.g. `[validation.rules."TOPO-01"] min_area = 0.01`
    #[serde(default)]
    #[schemars(with = "BTreeMap<String, BTreeMap<String, serde_json::Value>>")]
    pub rules: BTreeMap<String, BTreeMap<String, toml::Value>>,
    /// rules switched off
    #[serde(default)]
    pub disabled: Vec<String>,
}

/// `[[join]]`: join two sources' records on a declared key (polars) and report the unmatched rows on
/// either side: parcels without registration (宗地无登记) and registrations without a parcel (有证无图)
/// candidates, before any rule runs.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct JoinSpec {
    pub name: String,
    /// source name(s) (e.g. the parcels; several sources are joined as one table)
    pub left: KeySpec,
    pub left_key: String,
    /// compare only the first N characters of the left key (e.g. 19: the ZDDM part of a unit number)
    #[serde(default)]
    pub left_prefix: Option<usize>,
    /// source name(s) (e.g. the rights)
    pub right: KeySpec,
    pub right_key: String,
    #[serde(default)]
    pub right_prefix: Option<usize>,
    /// only right rows whose field has one of these values take part (e.g. QSZT = 1: current rights)
    #[serde(default)]
    pub right_when: Option<WhenSpec>,
}

/// `[merge]` policies.
#[derive(Debug, Clone, Deserialize, JsonSchema, Default)]
#[serde(deny_unknown_fields)]
pub struct MergeSpec {
    /// source systems in priority order (first wins)
    #[serde(default)]
    pub priority: Vec<String>,
    /// conflicts held for review instead of loaded (rule ids, e.g. "MERGE-01"); default all MERGE rules
    #[serde(default)]
    pub hold: Option<Vec<String>>,
    /// which side wins per field class: geometry = "survey", legal = "registration"
    #[serde(default)]
    pub geometry_from: Option<String>,
    #[serde(default)]
    pub legal_from: Option<String>,
}

/// A parsed source: head plus targets.
#[derive(Debug, Clone)]
pub struct SourceSpec {
    pub head: SourceSpecHead,
    pub targets: Vec<TargetSpec>,
    /// byte span of the source entry (for messages)
    pub span: std::ops::Range<usize>,
}

/// The whole file.
#[derive(Debug, Clone)]
pub struct PipelineFile {
    pub path: std::path::PathBuf,
    pub text: String,
    pub pipeline: PipelineSection,
    pub crs: BTreeMap<String, CrsSpec>,
    pub sources: Vec<SourceSpec>,
    pub validation: ValidationSpec,
    pub merge: MergeSpec,
    pub joins: Vec<JoinSpec>,
}

/// A problem in a pipeline file, with its place.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ConfigError {
    pub file: String,
    pub line: usize,
    pub column: usize,
    pub message: String,
}

impl std::fmt::Display for ConfigError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}:{}:{}: {}",
            self.file, self.line, self.column, self.message
        )
    }
}

/// Line and column (1-based) of a byte offset.
pub fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let offset = offset.min(text.len());
    let before = &text[..offset];
    let line = before.matches('\n').count() + 1;
    let col = before.rfind('\n').map_or(offset, |p| offset - p - 1) + 1;
    (line, col)
}

pub(crate) struct Errs<'a> {
    pub file: String,
    pub text: &'a str,
    pub list: Vec<ConfigError>,
}

impl Errs<'_> {
    pub fn at(&mut self, span: Option<std::ops::Range<usize>>, message: impl Into<String>) {
        let (line, column) = span.map_or((0, 0), |s| line_col(self.text, s.start));
        self.list.push(ConfigError {
            file: self.file.clone(),
            line,
            column,
            message: message.into(),
        });
    }
    fn de<T: serde::de::DeserializeOwned>(
        &mut self,
        v: &Spanned<DeValue<'_>>,
        what: &str,
    ) -> Option<T> {
        use serde::de::IntoDeserializer;
        let span = v.span();
        match T::deserialize(v.clone().into_deserializer()) {
            Ok(t) => Some(t),
            Err(e) => {
                let sp = e.span().or(Some(span.clone()));
                // name the key whose value is wrong (serde's message names only the type)
                let key = match (v.get_ref(), &sp) {
                    (DeValue::Table(t), Some(sp)) => t
                        .iter()
                        .find(|(k, val)| {
                            let vs = val.span();
                            (vs.start <= sp.start && sp.end <= vs.end && vs != span)
                                || k.span() == *sp
                        })
                        .map(|(k, _)| k.get_ref().to_string()),
                    _ => None,
                };
                let msg = e.message().trim();
                match key {
                    Some(k) if !msg.contains(&format!("`{k}`")) => {
                        self.at(sp, format!("{what}: `{k}`: {msg}"))
                    }
                    _ => self.at(sp, format!("{what}: {msg}")),
                }
                None
            }
        }
    }
}

fn table_of<'a>(v: &'a Spanned<DeValue<'a>>) -> Option<&'a DeTable<'a>> {
    match v.get_ref() {
        DeValue::Table(t) => Some(t),
        _ => None,
    }
}

/// Parse what can be parsed: the file with every well-formed piece (when `[pipeline]` itself is
/// readable), and every problem found (syntax, unknown keys, wrong types), so that `check` can go
/// on to report the semantic problems of the rest too.
pub fn parse_partial(
    path: &std::path::Path,
    text: String,
) -> (Option<PipelineFile>, Vec<ConfigError>) {
    let file = path.display().to_string();
    let mut errs = Errs {
        file: file.clone(),
        text: &text,
        list: vec![],
    };
    let (root, syntax) = DeTable::parse_recoverable(&text);
    for e in syntax {
        errs.at(e.span(), format!("TOML syntax: {}", e.message().trim()));
    }
    let mut pipeline = None;
    let mut crs = BTreeMap::new();
    let mut sources = Vec::new();
    let mut validation = ValidationSpec::default();
    let mut merge = MergeSpec::default();
    let mut joins = Vec::new();
    for (k, v) in root.get_ref().iter() {
        match k.get_ref().as_ref() {
            "pipeline" => {
                pipeline = errs.de::<PipelineSection>(v, "[pipeline]");
                if pipeline.is_none() {
                    // keep going with what is there, so the rest of the file is checked too
                    #[derive(Deserialize)]
                    struct Loose {
                        name: Option<String>,
                        batch: Option<String>,
                    }
                    use serde::de::IntoDeserializer;
                    if let Ok(l) = Loose::deserialize(v.clone().into_deserializer()) {
                        pipeline = Some(PipelineSection {
                            name: l.name.unwrap_or_default(),
                            batch: l.batch.unwrap_or_default(),
                            description: None,
                            registry_crs: None,
                            include: vec![],
                        });
                    }
                }
            }
            "crs" => match table_of(v) {
                Some(t) => {
                    for (name, c) in t.iter() {
                        if let Some(spec) =
                            errs.de::<CrsSpec>(c, &format!("[crs.{}]", name.get_ref()))
                        {
                            crs.insert(name.get_ref().to_string(), spec);
                        }
                    }
                }
                None => errs.at(Some(v.span()), "[crs] must be a table of named operations"),
            },
            "validation" => {
                if let Some(s) = errs.de::<ValidationSpec>(v, "[validation]") {
                    validation = s;
                }
            }
            "merge" => {
                if let Some(s) = errs.de::<MergeSpec>(v, "[merge]") {
                    merge = s;
                }
            }
            "join" => match v.get_ref() {
                DeValue::Array(arr) => {
                    for jv in arr.iter() {
                        if let Some(j) = errs.de::<JoinSpec>(jv, "[[join]]") {
                            joins.push(j);
                        }
                    }
                }
                _ => errs.at(Some(v.span()), "joins are written as [[join]] tables"),
            },
            "source" => match v.get_ref() {
                DeValue::Array(arr) => {
                    for (i, sv) in arr.iter().enumerate() {
                        if let Some(s) = parse_source(&mut errs, sv, i) {
                            sources.push(s);
                        }
                    }
                }
                _ => errs.at(Some(v.span()), "sources are written as [[source]] tables"),
            },
            other => errs.at(
                Some(k.span()),
                format!(
                    "unknown section `{other}` (expected pipeline, crs, source, validation, merge)"
                ),
            ),
        }
    }
    if pipeline.is_none()
        && !errs
            .list
            .iter()
            .any(|e| e.message.starts_with("[pipeline]"))
    {
        errs.at(Some(0..0), "missing [pipeline] section (name, batch)");
    }
    let list = errs.list;
    let file = pipeline.map(|pipeline| PipelineFile {
        path: path.to_path_buf(),
        text: text.clone(),
        pipeline,
        crs,
        sources,
        validation,
        merge,
        joins,
    });
    (file, list)
}

/// Parse a pipeline file, reporting every problem found (syntax, unknown keys, wrong types).
pub fn parse(path: &std::path::Path, text: String) -> Result<PipelineFile, Vec<ConfigError>> {
    match parse_partial(path, text) {
        (Some(f), e) if e.is_empty() => Ok(f),
        (_, e) => Err(e),
    }
}

fn parse_source(errs: &mut Errs<'_>, sv: &Spanned<DeValue<'_>>, i: usize) -> Option<SourceSpec> {
    let Some(t) = table_of(sv) else {
        errs.at(Some(sv.span()), format!("source #{}: not a table", i + 1));
        return None;
    };
    let mut head_tbl = DeTable::new();
    let mut targets_v = None;
    for (k, v) in t.iter() {
        if k.get_ref() == "target" {
            targets_v = Some(v);
        } else {
            head_tbl.insert(k.clone(), v.clone());
        }
    }
    let name = t
        .get("name")
        .and_then(|v| v.get_ref().as_str().map(str::to_string))
        .unwrap_or_else(|| format!("#{}", i + 1));
    let head_v = Spanned::new(sv.span(), DeValue::Table(head_tbl));
    let head = errs.de::<SourceSpecHead>(&head_v, &format!("source {name}"));
    let mut targets = Vec::new();
    let mut ok = true;
    match targets_v.map(|v| v.get_ref()) {
        Some(DeValue::Array(arr)) => {
            for tv in arr.iter() {
                match parse_target(errs, tv, &name) {
                    Some(tg) => targets.push(tg),
                    None => ok = false,
                }
            }
        }
        Some(_) => {
            errs.at(
                targets_v.map(|v| v.span()),
                format!("source {name}: targets are written as [[source.target]]"),
            );
            ok = false;
        }
        None => {
            errs.at(
                Some(sv.span()),
                format!("source {name}: no [[source.target]]: where do its rows go?"),
            );
            ok = false;
        }
    }
    match (head, ok) {
        (Some(head), true) => Some(SourceSpec {
            head,
            targets,
            span: sv.span(),
        }),
        _ => None,
    }
}

fn parse_target(
    errs: &mut Errs<'_>,
    tv: &Spanned<DeValue<'_>>,
    source: &str,
) -> Option<TargetSpec> {
    let Some(t) = table_of(tv) else {
        errs.at(
            Some(tv.span()),
            format!("source {source}: target is not a table"),
        );
        return None;
    };
    let mut head = DeTable::new();
    let mut fields = BTreeMap::new();
    let mut spans = BTreeMap::new();
    let mut ok = true;
    for (k, v) in t.iter() {
        if k.get_ref() == "table" {
            spans.insert("table".to_string(), v.span());
        }
        if k.get_ref() == "fields" {
            match table_of(v) {
                Some(ft) => {
                    for (fname, fv) in ft.iter() {
                        let what = format!("source {source}: field {}", fname.get_ref());
                        let spec = match fv.get_ref() {
                            DeValue::String(s) => Some(FieldSpec::From(s.to_string())),
                            _ => errs
                                .de::<FieldMap>(fv, &what)
                                .map(|m| FieldSpec::Map(Box::new(m))),
                        };
                        match spec {
                            Some(FieldSpec::Map(m))
                                if m.from.is_none()
                                    && m.constant.is_none()
                                    && m.concat.is_none() =>
                            {
                                errs.at(
                                    Some(fv.span()),
                                    format!("{what}: needs `from`, `const` or `concat`"),
                                );
                                ok = false;
                            }
                            Some(spec) => {
                                spans.insert(fname.get_ref().to_string(), fname.span());
                                fields.insert(fname.get_ref().to_string(), spec);
                            }
                            None => ok = false,
                        }
                    }
                }
                None => {
                    errs.at(
                        Some(v.span()),
                        format!("source {source}: `fields` must be a table"),
                    );
                    ok = false;
                }
            }
        } else {
            head.insert(k.clone(), v.clone());
        }
    }
    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Head {
        table: String,
        #[serde(default)]
        when: Option<WhenSpec>,
    }
    let h = errs.de::<Head>(
        &Spanned::new(tv.span(), DeValue::Table(head)),
        &format!("source {source}: target"),
    )?;
    ok.then_some(TargetSpec {
        table: h.table,
        when: h.when,
        fields,
        spans,
    })
}

/// JSON Schema of pipeline files (kept in schemas/pipeline.schema.json; a test keeps it current).
pub fn json_schema() -> serde_json::Value {
    #[derive(JsonSchema)]
    #[allow(dead_code)] // only its schema is used
    struct Source {
        #[serde(flatten)]
        head: SourceSpecHead,
        target: Vec<TargetSpec>,
    }
    #[derive(JsonSchema)]
    #[allow(dead_code)] // only its schema is used
    /// A cadastra pipeline file (TOML).
    struct Pipeline {
        pipeline: PipelineSection,
        #[serde(default)]
        crs: BTreeMap<String, CrsSpec>,
        #[serde(default)]
        source: Vec<Source>,
        #[serde(default)]
        validation: ValidationSpec,
        #[serde(default)]
        merge: MergeSpec,
        #[serde(default)]
        join: Vec<JoinSpec>,
    }
    serde_json::to_value(schemars::schema_for!(Pipeline)).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// schemas/pipeline.schema.json is generated (`cadastra schema`); this keeps it current.
    #[test]
    fn committed_json_schema_is_current() {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../schemas/pipeline.schema.json"
        );
        let committed: serde_json::Value = serde_json::from_str(
            &std::fs::read_to_string(path).expect("schemas/pipeline.schema.json exists"),
        )
        .expect("valid JSON");
        assert_eq!(
            committed,
            json_schema(),
            "schemas/pipeline.schema.json is stale: run `cadastra schema > schemas/pipeline.schema.json`"
        );
    }

    /// Every shipped pipeline parses and compiles.
    #[test]
    fn shipped_pipelines_compile() {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../../pipelines");
        let mut n = 0;
        for e in std::fs::read_dir(dir).unwrap() {
            let p = e.unwrap().path();
            if p.extension().is_some_and(|x| x == "toml") {
                let f = crate::load(&p).unwrap_or_else(|e| panic!("{}: {e:?}", p.display()));
                crate::compile(&f).unwrap_or_else(|e| panic!("{}: {e:?}", p.display()));
                n += 1;
            }
        }
        assert!(n >= 3);
    }

    #[test]
    fn three_mistakes_three_lines() {
        let text = r#"[pipeline]
name = "t"
batch = "b"
colour = "blue"

[[source]]
name = "zd"
system = "laiwu"
type = "shapefile"
path = "x.shp"
key = "ZDDM"
[[source.target]]
table = "ZDJBXX"
[source.target.fields]
ZDMJ = { from = "ZDMJ", unitt = "mu" }

[[source]]
name = "zrz"
system = "laiwu"
type = "shapefile"
path = 12
key = "ZRZH"
[[source.target]]
table = "ZRZ"
"#;
        let errs = parse(std::path::Path::new("p.toml"), text.into()).unwrap_err();
        let lines: Vec<usize> = errs.iter().map(|e| e.line).collect();
        assert_eq!(errs.len(), 3, "{errs:#?}");
        assert!(lines.contains(&4), "{errs:#?}");
        assert!(lines.contains(&15), "{errs:#?}");
        assert!(lines.contains(&21), "{errs:#?}");
    }

    #[test]
    fn syntax_errors_have_lines() {
        let errs = parse(
            std::path::Path::new("p.toml"),
            "[pipeline]\nname = \"x\nbatch=1\n".into(),
        )
        .unwrap_err();
        assert!(errs[0].line >= 2, "{errs:?}");
    }
}
