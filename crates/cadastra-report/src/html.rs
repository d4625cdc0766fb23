//! `report.html`: one self-contained page per run. Static HTML for everything a reader needs
//! without scripts (counts, reconciliation, sources, rules, maps); a small inline script pages and
//! filters the findings and conflicts tables, whose rows travel as JSON in the page.
//!
//! **Invariant:** the page loads nothing: no external scripts, fonts, styles or tiles.

use crate::mask;
use crate::registry_read::{ConflictRow, RegistryReader};
use crate::rules::{severity_name, title};
use crate::svg::{self, FindingMap, View};
use crate::{district_name, district_of, ReportError, ReportInput};
use cadastra_model::{Finding, Severity};
use geo_types::MultiPolygon;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::fmt::Write;
use std::path::Path;
use std::time::Instant;

const CSS: &str = include_str!("report.css");
const JS: &str = include_str!("report.js");

/// What went into a report (for tests, logs and the size budget).
#[derive(Debug, Clone, Default)]
pub struct HtmlStats {
    pub bytes: u64,
    pub findings: usize,
    pub table_rows: usize,
    pub maps: usize,
    pub conflicts: usize,
    pub seconds: f64,
}

/// HTML-escape text (also safe inside attribute values).
pub fn esc(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => o.push_str("&amp;"),
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '"' => o.push_str("&quot;"),
            '\'' => o.push_str("&#39;"),
            _ => o.push(c),
        }
    }
    o
}

/// JSON for a `<script type="application/json">` block: `<`, `>` and `&` escaped so that no
/// value can close the element.
fn script_json(v: &serde_json::Value) -> String {
    v.to_string()
        .replace('<', "\\u003c")
        .replace('>', "\\u003e")
        .replace('&', "\\u0026")
}

fn num(v: u64) -> String {
    let s = v.to_string();
    let mut o = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            o.push(',');
        }
        o.push(c);
    }
    o
}

fn opt_num(v: Option<f64>) -> String {
    match v {
        Some(x) if x.is_finite() => {
            let s = format!("{x:.3}");
            s.trim_end_matches('0').trim_end_matches('.').to_string()
        }
        _ => String::new(),
    }
}

/// Registry table and key field a finding's layer refers to.
fn layer_table(layer: &str) -> Option<(&'static str, &'static str)> {
    let def = cadastra_model::registry().table(layer)?;
    def.geometry?;
    let key = def.key.as_deref()?;
    Some((def.name.as_str(), key))
}

fn env_of(mp: &MultiPolygon<f64>) -> Option<[f64; 4]> {
    cadastra_io::wkb::envelope(mp)
        .map(|e| [e[0], e[2], e[1], e[3]])
        .filter(|e| e.iter().all(|v| v.is_finite()))
}

fn union_env(a: Option<[f64; 4]>, b: [f64; 4]) -> [f64; 4] {
    match a {
        None => b,
        Some(a) => [
            a[0].min(b[0]),
            a[1].min(b[1]),
            a[2].max(b[2]),
            a[3].max(b[3]),
        ],
    }
}

struct MapCtx<'a> {
    reader: Option<RegistryReader>,
    input: &'a ReportInput<'a>,
}

impl MapCtx<'_> {
    /// The feature a finding is about: by its key in its layer, or by the key re-numbered with
    /// the 2019 county codes (findings carry the legacy keys the sources had).
    fn subject(&self, f: &Finding) -> Result<Vec<MultiPolygon<f64>>, ReportError> {
        let Some(r) = &self.reader else {
            return Ok(vec![]);
        };
        let tables: Vec<(&str, &str)> = match layer_table(&f.layer) {
            Some(t) => vec![t],
            None => vec![("ZDJBXX", "ZDDM"), ("ZRZ", "ZRZH")],
        };
        let mut out = Vec::new();
        for key in [Some(f.feature_key.as_str()), f.other_key.as_deref()]
            .into_iter()
            .flatten()
        {
            if key.is_empty() {
                continue;
            }
            let rekeyed = district_of(key).and_then(|d| {
                (key.get(..6) != Some(d.as_str())).then(|| format!("{d}{}", &key[6..]))
            });
            'tables: for (t, k) in &tables {
                // indexed look-ups only (a src_key scan per finding is too slow at 100k parcels)
                for value in std::iter::once(key).chain(rekeyed.as_deref()) {
                    if let Some(g) = r.feature_by_key(t, k, value)? {
                        out.push(g);
                        break 'tables;
                    }
                }
            }
        }
        Ok(out)
    }

    fn map(&self, f: &Finding) -> Result<Option<String>, ReportError> {
        let subject = self.subject(f)?;
        let mut env: Option<[f64; 4]> = None;
        for g in &subject {
            if let Some(e) = env_of(g) {
                env = Some(union_env(env, e));
            }
        }
        if let Some(e) = f.geom.as_ref().and_then(env_of) {
            env = Some(union_env(env, e));
        }
        if let (Some(x), Some(y)) = (f.x, f.y) {
            if x.is_finite() && y.is_finite() {
                env = Some(union_env(env, [x, y, x, y]));
            }
        }
        let Some(env) = env else {
            return Ok(None);
        };
        if env[2] - env[0] > 50_000.0 || env[3] - env[1] > 50_000.0 {
            return Ok(None); // a finding spanning kilometres has no useful small map
        }
        let v = View::fit(env, 300.0, 220.0, 0.35, 30.0);
        let (mut parcels, mut buildings) = (Vec::new(), Vec::new());
        if let Some(r) = &self.reader {
            let lim = self.input.options.max_features_per_map;
            parcels = r
                .features_in("ZDJBXX", "ZDDM", v.env(), lim)?
                .into_iter()
                .map(|(_, g)| g)
                .collect();
            buildings = r
                .features_in("ZRZ", "ZRZH", v.env(), lim)?
                .into_iter()
                .map(|(_, g)| g)
                .collect();
        }
        let code = f.code();
        Ok(Some(svg::finding_map(
            &v,
            &FindingMap {
                parcels: &parcels,
                buildings: &buildings,
                highlight: &subject,
                error: f.geom.as_ref(),
                point: f.x.zip(f.y),
                severity: f.severity,
            },
            &format!("{code} {}", f.feature_key),
        )))
    }
}

fn sev_badge(s: Severity) -> String {
    let (zh, en) = severity_name(s);
    format!(
        r#"<span class="sev {}">{} {zh} <span class="en">{en}</span></span>"#,
        s.as_str(),
        s.as_str()
    )
}

/// Write the report; returns what it holds.
pub fn write_html(
    input: &ReportInput<'_>,
    conflicts: &[ConflictRow],
    path: &Path,
) -> Result<HtmlStats, ReportError> {
    let t0 = Instant::now();
    let s = input.summary;
    let findings = input.findings;
    let unmask = input.unmask;
    let reader = match input.registry {
        Some(p) if p.exists() => Some(RegistryReader::open(p)?),
        _ => None,
    };
    let ctx = MapCtx { reader, input };
    let mut h = String::with_capacity(256 * 1024);

    // ---- counts
    let mut sev_total: BTreeMap<Severity, u64> = BTreeMap::new();
    for f in findings {
        *sev_total.entry(f.severity).or_default() += 1;
    }
    let (ne, nw, ni) = (
        sev_total.get(&Severity::E).copied().unwrap_or(0),
        sev_total.get(&Severity::W).copied().unwrap_or(0),
        sev_total.get(&Severity::I).copied().unwrap_or(0),
    );

    let _ = write!(
        h,
        r#"<!DOCTYPE html><html lang="zh-CN"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><meta name="generator" content="cadastra {ver}"><title>运行报告 Run report {run}</title><style>{CSS}</style></head><body>"#,
        ver = env!("CARGO_PKG_VERSION"),
        run = esc(&s.run_id)
    );
    let _ = write!(
        h,
        r#"<header><h1>不动产数据迁移运行报告 <span class="en">Migration run report</span></h1><dl class="meta">"#
    );
    let meta: Vec<(&str, &str, String)> = vec![
        ("运行号", "run", s.run_id.clone()),
        ("流程", "pipeline", s.pipeline.clone()),
        ("批次", "batch", s.batch.clone()),
        (
            "登记库",
            "registry",
            format!("{} ({})", s.registry, s.backend),
        ),
        ("状态", "status", s.status.clone()),
        ("开始", "started", s.started_at.clone()),
        ("结束", "finished", s.finished_at.clone()),
        (
            "个人信息",
            "personal data",
            if unmask {
                "未脱敏 UNMASKED (--unmask)".into()
            } else {
                "已脱敏 masked (张* / 3701**********1234)".into()
            },
        ),
    ];
    for (zh, en, v) in meta {
        let _ = write!(
            h,
            r#"<div><dt>{zh} <span class="en">{en}</span></dt><dd>{}</dd></div>"#,
            esc(&v)
        );
    }
    h.push_str("</dl></header>");
    h.push_str(r##"<nav><a href="#recon">数量核对 Reconciliation</a><a href="#sources">数据源 Sources</a><a href="#rules">规则汇总 Rules</a><a href="#overview">总览图 Overview</a><a href="#findings">检查结果 Findings</a><a href="#conflicts">合库冲突 Conflicts</a><a href="#maps">图示 Maps</a></nav><main>"##);

    // ---- KPI cards
    let balanced = s.balanced();
    h.push_str(r#"<section id="kpi" class="cards">"#);
    let cards: Vec<(&str, &str, u64, &str)> = vec![
        ("读取", "read", s.total(|r| r.read), ""),
        ("入库", "loaded", s.total(|r| r.loaded), ""),
        ("未变", "unchanged", s.total(|r| r.unchanged), ""),
        ("待审", "held", s.total(|r| r.held), ""),
        ("隔离", "quarantined", s.total(|r| r.quarantined), ""),
        ("错误", "errors E", ne, "E"),
        ("警告", "warnings W", nw, "W"),
        ("提示", "info I", ni, "I"),
        (
            "冲突",
            "conflicts",
            s.conflicts.max(conflicts.len() as u64),
            "",
        ),
    ];
    for (zh, en, n, class) in cards {
        let _ = write!(
            h,
            r#"<div class="card {class}" data-k="{en}"><b>{}</b><span>{zh} <span class="en">{en}</span></span></div>"#,
            num(n)
        );
    }
    let _ = write!(
        h,
        r#"<div class="card {}"><b id="total-findings">{}</b><span>检查结果合计 <span class="en">findings in total</span></span></div>"#,
        if balanced { "ok" } else { "bad" },
        num(findings.len() as u64)
    );
    h.push_str("</section>");

    // ---- reconciliation
    h.push_str(r#"<section id="recon"><h2>数量核对 <span class="en">Reconciliation per source and layer</span></h2><p class="note">读取 = 入库 + 未变 + 待审 + 隔离 <span class="en">read = loaded + unchanged + held + quarantined</span></p><table class="num"><thead><tr><th>数据源 <span class="en">source</span></th><th>图层 <span class="en">layer</span></th><th>读取 <span class="en">read</span></th><th>入库 <span class="en">loaded</span></th><th>未变 <span class="en">unchanged</span></th><th>待审 <span class="en">held</span></th><th>隔离 <span class="en">quarantined</span></th><th>平衡 <span class="en">balanced</span></th></tr></thead><tbody>"#);
    for r in &s.reconciliation {
        let _ = write!(
            h,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            esc(&r.source),
            esc(&r.layer),
            num(r.read),
            num(r.loaded),
            num(r.unchanged),
            num(r.held),
            num(r.quarantined),
            if r.balanced() {
                r#"<span class="ok">✓</span>"#
            } else {
                r#"<span class="bad">✗ 不平衡 NOT BALANCED</span>"#
            }
        );
    }
    let _ = write!(
        h,
        "</tbody><tfoot><tr><td>合计 <span class=\"en\">total</span></td><td></td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr></tfoot></table></section>",
        num(s.total(|r| r.read)),
        num(s.total(|r| r.loaded)),
        num(s.total(|r| r.unchanged)),
        num(s.total(|r| r.held)),
        num(s.total(|r| r.quarantined)),
        if balanced { "✓" } else { "✗" }
    );

    // ---- joins: unmatched rows on either side (宗地无登记 / 有证无图 candidates)
    if !s.joins.is_empty() {
        h.push_str(r#"<section id="joins"><h2>关联核对 <span class="en">Joins: unmatched rows on either side</span></h2><table class="num"><thead><tr><th>关联 <span class="en">join</span></th><th>左 <span class="en">left</span></th><th>右 <span class="en">right</span></th><th>左行 <span class="en">left rows</span></th><th>右行 <span class="en">right rows</span></th><th>匹配 <span class="en">pairs</span></th><th>左未匹配 <span class="en">unmatched left</span></th><th>右未匹配 <span class="en">unmatched right</span></th><th>空键 <span class="en">null keys</span></th><th>一对多 <span class="en">one-to-many</span></th><th class="l">清单 <span class="en">listed in</span></th></tr></thead><tbody>"#);
        for j in &s.joins {
            let _ = write!(
                h,
                r#"<tr><td>{}</td><td class="l">{}</td><td class="l">{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td class="l path">{}</td></tr>"#,
                esc(&j.name),
                esc(&j.left),
                esc(&j.right),
                num(j.left_rows),
                num(j.right_rows),
                num(j.pairs),
                num(j.unmatched_left),
                num(j.unmatched_right),
                num(j.null_keys),
                num(j.one_to_many),
                esc(&j.report)
            );
        }
        h.push_str("</tbody></table></section>");
    }

    // ---- sources: encoding and CRS decisions
    h.push_str(r#"<section id="sources"><h2>数据源：编码与坐标系 <span class="en">Sources: encoding and CRS decisions</span></h2><table><thead><tr><th>数据源 <span class="en">source</span></th><th>系统 <span class="en">system</span></th><th>类型 <span class="en">kind</span></th><th>记录 <span class="en">records</span></th><th>编码 <span class="en">encoding</span></th><th>依据 <span class="en">evidence</span></th><th>坐标处理 <span class="en">coordinates</span></th><th>提示 <span class="en">warnings</span></th></tr></thead><tbody>"#);
    for src in &s.sources {
        let (enc, ev) = match &src.encoding {
            Some(e) => (
                format!(
                    "<b>{}</b><br>{}{}",
                    esc(&e.encoding),
                    esc(&e.decided_by),
                    if e.confident {
                        String::new()
                    } else {
                        r#" <span class="bad">不确定 NOT confident</span>"#.to_string()
                    }
                ),
                e.evidence
                    .iter()
                    .map(|x| esc(x))
                    .collect::<Vec<_>>()
                    .join("<br>"),
            ),
            None => ("-".into(), String::new()),
        };
        let mut warn = src
            .warnings
            .iter()
            .map(|w| esc(&mask::text(w, unmask)))
            .collect::<Vec<_>>();
        if src.deleted_skipped > 0 {
            warn.push(format!(
                "跳过已删除记录 {} deleted DBF records skipped",
                src.deleted_skipped
            ));
        }
        let cleaning = src
            .cleaning
            .iter()
            .filter(|(_, v)| **v > 0)
            .map(|(k, v)| format!("{} {}", esc(k), num(*v)))
            .collect::<Vec<_>>();
        if !cleaning.is_empty() {
            warn.push(format!("FMT-05 规范化 cleaning: {}", cleaning.join(", ")));
        }
        let _ = write!(
            h,
            r#"<tr><td><b>{}</b><br><span class="path">{}</span></td><td>{}</td><td>{}</td><td class="r">{}</td><td>{enc}</td><td class="small">{ev}</td><td>{}</td><td class="small">{}</td></tr>"#,
            esc(&src.name),
            esc(&src.path),
            esc(&src.system),
            esc(&src.kind),
            num(src.records),
            esc(&src.crs),
            warn.join("<br>")
        );
    }
    h.push_str("</tbody></table></section>");

    // ---- rules × severity
    let mut by_rule: BTreeMap<&str, [u64; 3]> = BTreeMap::new();
    let mut by_district: BTreeMap<String, [u64; 3]> = BTreeMap::new();
    for f in findings {
        let k = match f.severity {
            Severity::E => 0,
            Severity::W => 1,
            Severity::I => 2,
        };
        by_rule.entry(f.rule_id.0).or_default()[k] += 1;
        by_district
            .entry(district_of(&f.feature_key).unwrap_or_else(|| "-".into()))
            .or_default()[k] += 1;
    }
    let max_rule = by_rule
        .values()
        .map(|c| c.iter().sum::<u64>())
        .max()
        .unwrap_or(1)
        .max(1);
    h.push_str(r#"<section id="rules"><h2>规则汇总 <span class="en">Findings by rule and severity</span></h2><table class="num"><thead><tr><th>规则 <span class="en">rule</span></th><th>名称 <span class="en">title</span></th><th>结果 <span class="en">outcome</span></th><th>E 错误</th><th>W 警告</th><th>I 提示</th><th>合计 <span class="en">total</span></th><th></th></tr></thead><tbody>"#);
    let mut rule_ids: Vec<&str> = s.rule_outcomes.keys().map(String::as_str).collect();
    for r in by_rule.keys() {
        if !rule_ids.contains(r) {
            rule_ids.push(r);
        }
    }
    rule_ids.sort_unstable();
    for id in rule_ids {
        let c = by_rule.get(id).copied().unwrap_or_default();
        let tot: u64 = c.iter().sum();
        let (zh, en) = title(id).unwrap_or(("", ""));
        let outcome = s.rule_outcomes.get(id).cloned().unwrap_or_default();
        let bar = |n: u64, cls: &str| {
            format!(
                r#"<i class="{cls}" style="width:{:.1}%"></i>"#,
                n as f64 * 100.0 / max_rule as f64
            )
        };
        let _ = write!(
            h,
            r#"<tr><td><b>{}</b></td><td class="l">{zh} <span class="en">{en}</span></td><td class="l">{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td class="bar">{}{}{}</td></tr>"#,
            esc(id),
            esc(&outcome),
            num(c[0]),
            num(c[1]),
            num(c[2]),
            num(tot),
            bar(c[0], "E"),
            bar(c[1], "W"),
            bar(c[2], "I")
        );
    }
    let _ = write!(
        h,
        r#"</tbody><tfoot><tr><td>合计 <span class="en">total</span></td><td></td><td></td><td id="sum-E">{}</td><td id="sum-W">{}</td><td id="sum-I">{}</td><td id="sum-all">{}</td><td></td></tr></tfoot></table>"#,
        num(ne),
        num(nw),
        num(ni),
        num(findings.len() as u64)
    );
    if !by_district.is_empty() {
        h.push_str(r#"<h3>按区县 <span class="en">by district</span></h3><table class="num"><thead><tr><th>区县 <span class="en">district</span></th><th>E</th><th>W</th><th>I</th></tr></thead><tbody>"#);
        for (d, c) in &by_district {
            let _ = write!(
                h,
                "<tr><td>{} {}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                esc(d),
                district_name(d).unwrap_or(""),
                num(c[0]),
                num(c[1]),
                num(c[2])
            );
        }
        h.push_str("</tbody></table>");
    }
    h.push_str("</section>");

    // ---- overview map
    h.push_str(r#"<section id="overview"><h2>总览图 <span class="en">Overview map of all findings</span></h2>"#);
    let mut ext: Option<[f64; 4]> = None;
    if let Some(r) = &ctx.reader {
        for t in ["ZDJBXX", "ZRZ"] {
            if let Some(e) = r.extent(t)? {
                ext = Some(union_env(ext, e));
            }
        }
    }
    let pts: Vec<(f64, f64, Severity)> = findings
        .iter()
        .filter_map(|f| match (f.x, f.y) {
            (Some(x), Some(y)) if x.is_finite() && y.is_finite() => Some((x, y, f.severity)),
            _ => f
                .geom
                .as_ref()
                .and_then(env_of)
                .map(|e| ((e[0] + e[2]) / 2.0, (e[1] + e[3]) / 2.0, f.severity)),
        })
        .collect();
    for &(x, y, _) in &pts {
        ext = Some(union_env(ext, [x, y, x, y]));
    }
    match ext {
        Some(e) if (e[2] - e[0]) < 1e6 && (e[3] - e[1]) < 1e6 => {
            let v = View::fit(e, 900.0, 640.0, 0.03, 100.0);
            let cell_m = (v.maxx - v.minx) / 180.0;
            let cells = match &ctx.reader {
                Some(r) => r.occupied_cells(
                    "ZDJBXX",
                    (v.minx, v.miny),
                    cell_m,
                    (
                        ((v.maxx - v.minx) / cell_m).ceil() as u32 + 1,
                        ((v.maxy - v.miny) / cell_m).ceil() as u32 + 1,
                    ),
                )?,
                None => Vec::new(),
            };
            h.push_str(&svg::overview_map(&v, &cells, cell_m, &pts, 5000));
            let _ = write!(
                h,
                r#"<p class="legend"><span class="lg cov"></span>宗地分布 parcels present <span class="lg E"></span>错误 E <span class="lg W"></span>警告 W <span class="lg I"></span>提示 I — {} 个有位置的检查结果 findings with a location{}</p>"#,
                num(pts.len() as u64),
                if pts.len() > 5000 {
                    format!(
                        "，按 {:.0} m 格网汇总 aggregated to {:.0} m cells (worst severity)",
                        cell_m, cell_m
                    )
                } else {
                    String::new()
                }
            );
        }
        _ => h.push_str(r#"<p class="note">无可绘制的位置 <span class="en">nothing with a location to draw</span></p>"#),
    }
    h.push_str("</section>");

    // ---- maps per finding (the first N per rule), collected before the table so rows can link
    let mut map_of: HashMap<usize, usize> = HashMap::new();
    let mut maps_html = String::new();
    let mut maps = 0usize;
    {
        let mut per_rule: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
        for (i, f) in findings.iter().enumerate() {
            let v = per_rule.entry(f.rule_id.0).or_default();
            if v.len() < input.options.maps_per_rule {
                v.push(i);
            }
        }
        // right holders of the mapped units and parcels (masked unless --unmask)
        let mut keys = HashSet::new();
        for idx in per_rule.values() {
            for &i in idx {
                let k = &findings[i].feature_key;
                if k.len() == 28 || k.len() == 19 {
                    keys.insert(k.clone());
                    if let Some(d) = district_of(k) {
                        keys.insert(format!("{d}{}", &k[6..]));
                    }
                }
            }
        }
        let holders = match &ctx.reader {
            Some(r) => r.holders(&keys, 3)?,
            None => HashMap::new(),
        };
        for (rule, idx) in &per_rule {
            let (zh, en) = title(rule).unwrap_or(("", ""));
            let total = by_rule.get(rule).map_or(0, |c| c.iter().sum::<u64>());
            let _ = write!(
                maps_html,
                r#"<h3 id="rule-{r}">{r} {zh} <span class="en">{en}</span> <small>({} / {})</small></h3><div class="grid">"#,
                idx.len(),
                num(total),
                r = esc(rule)
            );
            for &i in idx {
                let f = &findings[i];
                let svg = ctx.map(f)?;
                let id = maps;
                maps += 1;
                map_of.insert(i, id);
                let mut who = String::new();
                let k = &f.feature_key;
                let kk = district_of(k).map(|d| format!("{d}{}", k.get(6..).unwrap_or("")));
                if let Some(hs) = holders
                    .get(k)
                    .or_else(|| kk.as_ref().and_then(|k| holders.get(k)))
                {
                    let list: Vec<String> = hs
                        .iter()
                        .map(|(n, z)| {
                            if unmask {
                                format!("{n} ({z})")
                            } else {
                                format!(
                                    "{} ({})",
                                    mask::mask_field("QLRMC", n),
                                    mask::mask_field("ZJH", z)
                                )
                            }
                        })
                        .collect();
                    who = format!(
                        "<br>权利人 <span class=\"en\">holders</span>: {}",
                        esc(&list.join("; "))
                    );
                }
                let xy = match (f.x, f.y) {
                    (Some(x), Some(y)) => format!("X={y:.3} Y={x:.3}"),
                    _ => String::new(),
                };
                let _ = write!(
                    maps_html,
                    r#"<figure id="m{id}">{}<figcaption><b>{}</b> {} <span class="key">{}</span>{}<br><span class="small">{}</span><br>{}<br><span class="en">{}</span>{}{who}</figcaption></figure>"#,
                    svg.unwrap_or_else(
                        || r#"<div class="nomap">无图形 no geometry to draw</div>"#.to_string()
                    ),
                    esc(&f.code()),
                    sev_badge(f.severity),
                    esc(k),
                    f.other_key
                        .as_deref()
                        .map(|o| format!(" ↔ <span class=\"key\">{}</span>", esc(o)))
                        .unwrap_or_default(),
                    esc(&xy),
                    esc(&mask::text(&f.message_zh, unmask)),
                    esc(&mask::text(&f.message_en, unmask)),
                    match (f.value, f.tolerance) {
                        (Some(v), Some(t)) => format!(
                            "<br>量测值 value {} / 限差 tolerance {}",
                            opt_num(Some(v)),
                            opt_num(Some(t))
                        ),
                        (Some(v), None) => format!("<br>量测值 value {}", opt_num(Some(v))),
                        _ => String::new(),
                    }
                );
            }
            maps_html.push_str("</div>");
        }
    }

    // ---- findings table (data as JSON, rendered by the script)
    let limit = input.options.max_table_rows.min(findings.len());
    let mut rules_ix: Vec<&str> = Vec::new();
    let mut layers_ix: Vec<&str> = Vec::new();
    let mut districts_ix: Vec<String> = Vec::new();
    fn ix<'s>(v: &mut Vec<&'s str>, s: &'s str) -> usize {
        match v.iter().position(|x| *x == s) {
            Some(i) => i,
            None => {
                v.push(s);
                v.len() - 1
            }
        }
    }
    let mut rows = Vec::with_capacity(limit);
    for (i, f) in findings.iter().take(limit).enumerate() {
        let d = district_of(&f.feature_key).unwrap_or_else(|| "-".into());
        let di = match districts_ix.iter().position(|x| *x == d) {
            Some(p) => p,
            None => {
                districts_ix.push(d);
                districts_ix.len() - 1
            }
        };
        rows.push(serde_json::json!([
            ix(&mut rules_ix, f.rule_id.0),
            f.sub_code,
            f.severity.as_str(),
            ix(&mut layers_ix, f.layer.as_str()),
            f.feature_key,
            f.other_key.as_deref().unwrap_or(""),
            f.y.map(|v| (v * 1000.0).round() / 1000.0),
            f.x.map(|v| (v * 1000.0).round() / 1000.0),
            opt_num(f.value),
            opt_num(f.tolerance),
            mask::text(&f.message_zh, unmask),
            mask::text(&f.message_en, unmask),
            di,
            map_of.get(&i).map_or(-1, |m| *m as i64),
        ]));
    }
    let conflict_rows: Vec<serde_json::Value> = conflicts
        .iter()
        .map(|c| {
            serde_json::json!([
                c.conflict_id,
                c.rule_id,
                c.layer,
                c.feature_key,
                c.other_key,
                mask::text(&c.detail, unmask),
                c.choices,
                c.decision,
                c.decided_by,
                c.run_id,
            ])
        })
        .collect();
    let _ = write!(
        h,
        r#"<section id="findings"><h2>检查结果 <span class="en">Findings</span></h2><p class="note">坐标 X 为北坐标、Y 为东坐标 (CGCS2000 / 3° GK CM 117E, EPSG:4548) <span class="en">X = northing, Y = easting</span>{}</p><div class="filters" data-table="f"><select data-col="0"><option value="">全部规则 all rules</option></select><select data-col="2"><option value="">全部级别 all severities</option><option>E</option><option>W</option><option>I</option></select><select data-col="3"><option value="">全部图层 all layers</option></select><select data-col="12"><option value="">全部区县 all districts</option></select><input type="search" placeholder="搜索 search (key, message)"><span class="count" id="fcount"></span></div><table class="data" id="ftable"><thead><tr><th>代码 code</th><th>级别 sev.</th><th>图层 layer</th><th>要素键 feature</th><th>相关要素 other</th><th>X (北 N)</th><th>Y (东 E)</th><th>量测值 value</th><th>限差 tol.</th><th>说明 message</th><th>图 map</th></tr></thead><tbody></tbody></table><div class="pager" data-table="f"></div><noscript><p>表格需要脚本；完整列表见 findings.csv / findings.xlsx <span class="en">the table needs scripts; the full list is in findings.csv / findings.xlsx</span></p></noscript></section>"#,
        if limit < findings.len() {
            format!(
                "。表中列出前 {} 条，共 {} 条，完整列表见 findings.csv / findings.xlsx <span class=\"en\">the table lists the first {} of {}; all are in findings.csv / findings.xlsx</span>",
                num(limit as u64),
                num(findings.len() as u64),
                num(limit as u64),
                num(findings.len() as u64)
            )
        } else {
            String::new()
        }
    );
    let _ = write!(
        h,
        r#"<section id="conflicts"><h2>合库冲突 <span class="en">Merge conflicts</span> <small>({})</small></h2>"#,
        num(conflicts.len() as u64)
    );
    if conflicts.is_empty() {
        h.push_str(r#"<p class="note">无冲突记录 <span class="en">no conflicts in the registry</span></p>"#);
    } else {
        h.push_str(r#"<div class="filters" data-table="c"><select data-col="1"><option value="">全部规则 all rules</option></select><input type="search" placeholder="搜索 search"><span class="count" id="ccount"></span></div><table class="data" id="ctable"><thead><tr><th>冲突编号 id</th><th>规则 rule</th><th>图层 layer</th><th>要素键 feature</th><th>相关要素 other</th><th>说明 detail</th><th>可选裁决 choices</th><th>裁决 decision</th><th>裁决人 by</th><th>运行号 run</th></tr></thead><tbody></tbody></table><div class="pager" data-table="c"></div>"#);
    }
    h.push_str("</section>");

    let _ = write!(
        h,
        r#"<section id="maps"><h2>图示 <span class="en">Finding maps</span></h2><p class="note">每条规则前 {} 条检查结果附图；橙色为相关要素，红色为错误图形/位置，浅色为周边宗地与自然幢。 <span class="en">The first {} findings of each rule get a map: orange = the feature concerned, red = error geometry / location, light = parcels and buildings around it.</span></p>{maps_html}</section>"#,
        input.options.maps_per_rule, input.options.maps_per_rule
    );

    // ---- notes and timings
    h.push_str(r#"<section id="notes"><h2>说明 <span class="en">Notes</span></h2><ul>"#);
    for n in &s.notes {
        let _ = write!(h, "<li>{}</li>", esc(&mask::text(n, unmask)));
    }
    if !s.timings.is_empty() {
        let t: Vec<String> = s
            .timings
            .iter()
            .map(|(k, v)| format!("{} {v:.2}s", esc(k)))
            .collect();
        let _ = write!(h, "<li>耗时 timings: {}</li>", t.join(", "));
    }
    if !s.registry_counts.is_empty() {
        let t: Vec<String> = s
            .registry_counts
            .iter()
            .map(|(k, v)| format!("{} {}", esc(k), num((*v).max(0) as u64)))
            .collect();
        let _ = write!(h, "<li>登记库记录数 registry rows: {}</li>", t.join(", "));
    }
    h.push_str("</ul></section></main>");

    let data = serde_json::json!({
        "rules": rules_ix,
        "layers": layers_ix,
        "districts": districts_ix.iter().map(|d| match district_name(d) {
            Some(n) => format!("{d} {n}"),
            None => d.clone(),
        }).collect::<Vec<_>>(),
        "findings": rows,
        "total": findings.len(),
        "conflicts": conflict_rows,
    });
    let _ = write!(
        h,
        r#"<footer>cadastra {} · {}</footer><script type="application/json" id="data">{}</script><script>{JS}</script></body></html>"#,
        env!("CARGO_PKG_VERSION"),
        esc(&s.run_id),
        script_json(&data)
    );
    std::fs::write(path, h.as_bytes()).map_err(|e| ReportError::io(path, e))?;
    Ok(HtmlStats {
        bytes: h.len() as u64,
        findings: findings.len(),
        table_rows: limit,
        maps,
        conflicts: conflicts.len(),
        seconds: t0.elapsed().as_secs_f64(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escaping() {
        assert_eq!(
            esc("<a href=\"x\">&'"),
            "&lt;a href=&quot;x&quot;&gt;&amp;&#39;"
        );
        let v = serde_json::json!(["</script><script>alert(1)</script>"]);
        let s = script_json(&v);
        assert!(!s.contains("</script>"), "{s}");
        assert_eq!(num(1234567), "1,234,567");
        assert_eq!(num(12), "12");
        assert_eq!(opt_num(Some(1.5)), "1.5");
        assert_eq!(opt_num(Some(2.0)), "2");
        assert_eq!(opt_num(None), "");
    }
}
