//! The run summary: printed (human text or JSON), stored in the registry's audit table and written
//! next to the outputs. Never holds personal data or transformation parameters.

use serde::Serialize;
use std::collections::BTreeMap;
use std::fmt::Write;

/// One line of the reconciliation: `read = loaded + unchanged + held + quarantined`.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct ReconRow {
    pub source: String,
    pub layer: String,
    pub read: u64,
    /// new or changed rows written to the registry
    pub loaded: u64,
    /// rows already in the registry with the same content (re-run)
    pub unchanged: u64,
    /// held for review (merge conflicts)
    pub held: u64,
    pub quarantined: u64,
}

impl ReconRow {
    pub fn balanced(&self) -> bool {
        self.read == self.loaded + self.unchanged + self.held + self.quarantined
    }
}

/// The encoding decided for a source file (rule FMT-02), with its evidence.
#[derive(Debug, Clone, Serialize)]
pub struct EncodingInfo {
    pub encoding: String,
    /// override, cpg, cst, ldid, detected, bom, default, container (UTF-8 formats)
    pub decided_by: String,
    pub evidence: Vec<String>,
    pub confident: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct SourceSummary {
    pub name: String,
    pub system: String,
    pub kind: String,
    pub path: String,
    pub records: u64,
    pub deleted_skipped: u64,
    pub encoding: Option<EncodingInfo>,
    /// what was done to coordinates (operation kind and CRSs; never parameter values)
    pub crs: String,
    pub warnings: Vec<String>,
    /// FMT-05 cleaning counts: values looked at, changed, full-width, trimmed, placeholders
    pub cleaning: BTreeMap<String, u64>,
}

/// A declared join of two sources' records (polars), with what did not match on either side.
#[derive(Debug, Clone, Serialize)]
pub struct JoinSummary {
    pub name: String,
    pub left: String,
    pub right: String,
    pub left_rows: u64,
    pub right_rows: u64,
    pub pairs: u64,
    /// left rows whose key the right side lacks (e.g. parcels without registration, 宗地无登记)
    pub unmatched_left: u64,
    /// right rows whose key the left side lacks (e.g. registrations without a parcel, 有证无图)
    pub unmatched_right: u64,
    pub null_keys: u64,
    /// matched keys with several right rows (e.g. several rights on one parcel)
    pub one_to_many: u64,
    /// where the unmatched rows are listed
    pub report: String,
}

#[derive(Debug, Clone, Serialize, Default)]
pub struct SeverityCounts {
    #[serde(rename = "E")]
    pub e: u64,
    #[serde(rename = "W")]
    pub w: u64,
    #[serde(rename = "I")]
    pub i: u64,
}

#[derive(Debug, Clone, Serialize)]
pub struct RunSummary {
    pub run_id: String,
    pub pipeline: String,
    pub batch: String,
    pub registry: String,
    pub backend: String,
    pub started_at: String,
    pub finished_at: String,
    /// ok, validated (no write), failed
    pub status: String,
    pub sources: Vec<SourceSummary>,
    pub reconciliation: Vec<ReconRow>,
    pub joins: Vec<JoinSummary>,
    pub findings_by_rule: BTreeMap<String, SeverityCounts>,
    pub rule_outcomes: BTreeMap<String, String>,
    pub conflicts: u64,
    pub registry_counts: BTreeMap<String, i64>,
    /// seconds per stage
    pub timings: Vec<(String, f64)>,
    pub notes: Vec<String>,
}

impl RunSummary {
    pub fn balanced(&self) -> bool {
        self.reconciliation.iter().all(ReconRow::balanced)
    }
    pub fn total(&self, f: impl Fn(&ReconRow) -> u64) -> u64 {
        self.reconciliation.iter().map(f).sum()
    }

    /// The human summary (Chinese with English alongside).
    pub fn to_text(&self) -> String {
        let mut s = String::new();
        let _ = writeln!(
            s,
            "运行 run {}  流程 pipeline {}  批次 batch {}",
            self.run_id, self.pipeline, self.batch
        );
        let _ = writeln!(
            s,
            "登记库 registry {} ({})  状态 status: {}",
            self.registry, self.backend, self.status
        );
        let _ = writeln!(s);
        let _ = writeln!(s, "数据源 sources");
        for src in &self.sources {
            let enc = src.encoding.as_ref().map_or("-".to_string(), |e| {
                format!(
                    "{} ({}{})",
                    e.encoding,
                    e.decided_by,
                    if e.confident { "" } else { ", NOT confident" }
                )
            });
            let _ = writeln!(
                s,
                "  {:<18} {:>8} records  encoding {}  crs {}",
                src.name, src.records, enc, src.crs
            );
            if src.deleted_skipped > 0 {
                let _ = writeln!(
                    s,
                    "  {:<18} {} deleted DBF records skipped",
                    "", src.deleted_skipped
                );
            }
            for w in &src.warnings {
                let _ = writeln!(s, "  {:<18} ! {w}", "");
            }
        }
        let _ = writeln!(s);
        if self.status == "validated" {
            let _ = writeln!(s, "数量核对 reconciliation (validate only: \"loaded\" = would load; the registry was not touched)");
        } else {
            let _ = writeln!(s, "数量核对 reconciliation (读取 read = 入库 loaded + 未变 unchanged + 待审 held + 隔离 quarantined)");
        }
        let _ = writeln!(
            s,
            "  {:<18} {:<8} {:>9} {:>9} {:>9} {:>9} {:>9}  ok",
            "source", "layer", "read", "loaded", "unchanged", "held", "quarant."
        );
        for r in &self.reconciliation {
            let _ = writeln!(
                s,
                "  {:<18} {:<8} {:>9} {:>9} {:>9} {:>9} {:>9}  {}",
                r.source,
                r.layer,
                r.read,
                r.loaded,
                r.unchanged,
                r.held,
                r.quarantined,
                if r.balanced() {
                    "✓"
                } else {
                    "✗ NOT BALANCED"
                }
            );
        }
        let _ = writeln!(
            s,
            "  {:<18} {:<8} {:>9} {:>9} {:>9} {:>9} {:>9}",
            "total",
            "",
            self.total(|r| r.read),
            self.total(|r| r.loaded),
            self.total(|r| r.unchanged),
            self.total(|r| r.held),
            self.total(|r| r.quarantined)
        );
        if !self.joins.is_empty() {
            let _ = writeln!(s);
            let _ = writeln!(
                s,
                "关联核对 joins (未匹配 unmatched: 宗地无登记 / 有证无图 candidates)"
            );
            for j in &self.joins {
                let _ = writeln!(
                    s,
                    "  {:<22} {} {} × {} {}: {} pairs, unmatched left {}, unmatched right {}, null keys {} → {}",
                    j.name, j.left, j.left_rows, j.right, j.right_rows, j.pairs, j.unmatched_left, j.unmatched_right, j.null_keys, j.report
                );
            }
        }
        if !self.findings_by_rule.is_empty() {
            let _ = writeln!(s);
            let _ = writeln!(s, "检查结果 findings by rule (E 错误 / W 警告 / I 提示)");
            for (rule, c) in &self.findings_by_rule {
                let _ = writeln!(s, "  {rule:<10} E {:>6}  W {:>6}  I {:>6}", c.e, c.w, c.i);
            }
        }
        if self.conflicts > 0 {
            let _ = writeln!(s, "\n合库冲突 merge conflicts: {}", self.conflicts);
        }
        if !self.timings.is_empty() {
            let t: Vec<String> = self
                .timings
                .iter()
                .map(|(k, v)| format!("{k} {v:.2}s"))
                .collect();
            let _ = writeln!(s, "\n耗时 timings: {}", t.join(", "));
        }
        for n in &self.notes {
            let _ = writeln!(s, "note: {n}");
        }
        s
    }
}
