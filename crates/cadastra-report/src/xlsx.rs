//! `findings.xlsx`: a summary sheet by rule × severity × district, the findings, the
//! reconciliation and the merge conflicts; and `conflicts.csv`. Same columns as findings.csv, in
//! the order surveyors expect of a QC workbook (delivery-conventions §3.4).

use crate::mask;
use crate::registry_read::ConflictRow;
use crate::rules::title;
use crate::{district_name, district_of, ReportError, ReportInput};
use cadastra_model::Severity;
use rust_xlsxwriter::{Format, FormatAlign, FormatBorder, Workbook, Worksheet, XlsxError};
use std::collections::BTreeMap;
use std::path::Path;

/// Rows Excel can hold on one sheet, less the header.
const MAX_ROWS: usize = 1_048_575;

fn header(ws: &mut Worksheet, cols: &[(&str, f64)], fmt: &Format) -> Result<(), XlsxError> {
    for (i, (name, width)) in cols.iter().enumerate() {
        ws.write_string_with_format(0, i as u16, *name, fmt)?;
        ws.set_column_width(i as u16, *width)?;
    }
    ws.set_freeze_panes(1, 0)?;
    Ok(())
}

fn write_book(
    input: &ReportInput<'_>,
    conflicts: &[ConflictRow],
    path: &Path,
) -> Result<(), XlsxError> {
    let s = input.summary;
    let unmask = input.unmask;
    let mut wb = Workbook::new();
    let head = Format::new()
        .set_bold()
        .set_background_color("#DCE6F1")
        .set_border(FormatBorder::Thin)
        .set_text_wrap()
        .set_align(FormatAlign::Top);
    let bold = Format::new().set_bold();
    let coord = Format::new().set_num_format("0.000");

    // ---- 汇总 summary: rule × severity × district
    {
        let ws = wb.add_worksheet().set_name("汇总 summary")?;
        ws.write_string_with_format(0, 0, "运行号 run", &bold)?;
        ws.write_string(0, 1, &s.run_id)?;
        ws.write_string_with_format(1, 0, "流程 pipeline", &bold)?;
        ws.write_string(1, 1, &s.pipeline)?;
        ws.write_string_with_format(2, 0, "批次 batch", &bold)?;
        ws.write_string(2, 1, &s.batch)?;
        ws.write_string_with_format(3, 0, "个人信息 personal data", &bold)?;
        ws.write_string(
            3,
            1,
            if unmask {
                "未脱敏 UNMASKED"
            } else {
                "已脱敏 masked"
            },
        )?;
        let cols = [
            ("规则 rule", 11.0),
            ("名称 title", 30.0),
            ("区县 district", 16.0),
            ("E 错误 error", 11.0),
            ("W 警告 warning", 11.0),
            ("I 提示 info", 11.0),
            ("合计 total", 11.0),
            ("规则结果 outcome", 18.0),
        ];
        let top = 5u32;
        for (i, (name, width)) in cols.iter().enumerate() {
            ws.write_string_with_format(top, i as u16, *name, &head)?;
            ws.set_column_width(i as u16, *width)?;
        }
        let mut m: BTreeMap<(&str, String), [u64; 3]> = BTreeMap::new();
        for f in input.findings {
            let k = match f.severity {
                Severity::E => 0,
                Severity::W => 1,
                Severity::I => 2,
            };
            let d = district_of(&f.feature_key).unwrap_or_else(|| "-".into());
            m.entry((f.rule_id.0, d)).or_default()[k] += 1;
        }
        let mut row = top + 1;
        for ((rule, d), c) in &m {
            let (zh, en) = title(rule).unwrap_or(("", ""));
            ws.write_string(row, 0, *rule)?;
            ws.write_string(row, 1, format!("{zh} {en}"))?;
            ws.write_string(
                row,
                2,
                match district_name(d) {
                    Some(n) => format!("{d} {n}"),
                    None => d.clone(),
                },
            )?;
            for (j, v) in c.iter().enumerate() {
                ws.write_number(row, 3 + j as u16, *v as f64)?;
            }
            ws.write_number(row, 6, c.iter().sum::<u64>() as f64)?;
            ws.write_string(
                row,
                7,
                s.rule_outcomes.get(*rule).map(String::as_str).unwrap_or(""),
            )?;
            row += 1;
        }
        // rules that ran clean
        for (rule, outcome) in &s.rule_outcomes {
            if m.keys().any(|(r, _)| r == rule) {
                continue;
            }
            let (zh, en) = title(rule).unwrap_or(("", ""));
            ws.write_string(row, 0, rule)?;
            ws.write_string(row, 1, format!("{zh} {en}"))?;
            ws.write_string(row, 2, "-")?;
            for j in 0..4 {
                ws.write_number(row, 3 + j, 0.0)?;
            }
            ws.write_string(row, 7, outcome)?;
            row += 1;
        }
        if row > top + 1 {
            ws.autofilter(top, 0, row - 1, 7)?;
        }
        ws.set_freeze_panes(top + 1, 0)?;
    }

    // ---- 检查结果 findings
    {
        // written row by row into a temporary file, strings inline: a city-scale run has
        // hundreds of thousands of findings (415k at 1M parcels: 9.9 s in standard mode, 3.7 s so)
        let ws = wb
            .add_worksheet_with_constant_memory()?
            .set_name("检查结果 findings")?;
        header(
            ws,
            &[
                ("规则 rule_id", 10.0),
                ("子代码 sub_code", 8.0),
                ("级别 severity", 8.0),
                ("区县 district", 9.0),
                ("图层 layer", 10.0),
                ("要素键 feature_key", 30.0),
                ("相关要素 other_key", 30.0),
                ("X 北坐标 northing", 14.0),
                ("Y 东坐标 easting", 14.0),
                ("量测值 value", 11.0),
                ("限差 tolerance", 11.0),
                ("说明 message_zh", 50.0),
                ("说明(英文) message_en", 50.0),
                ("状态 status", 9.0),
            ],
            &head,
        )?;
        for (i, f) in input.findings.iter().take(MAX_ROWS).enumerate() {
            let r = i as u32 + 1;
            ws.write_string(r, 0, f.rule_id.0)?;
            ws.write_string(r, 1, &f.sub_code)?;
            ws.write_string(r, 2, f.severity.as_str())?;
            ws.write_string(r, 3, district_of(&f.feature_key).unwrap_or_default())?;
            ws.write_string(r, 4, &f.layer)?;
            ws.write_string(r, 5, &f.feature_key)?;
            ws.write_string(r, 6, f.other_key.as_deref().unwrap_or(""))?;
            if let Some(y) = f.y.filter(|v| v.is_finite()) {
                ws.write_number_with_format(r, 7, y, &coord)?;
            }
            if let Some(x) = f.x.filter(|v| v.is_finite()) {
                ws.write_number_with_format(r, 8, x, &coord)?;
            }
            if let Some(v) = f.value.filter(|v| v.is_finite()) {
                ws.write_number(r, 9, v)?;
            }
            if let Some(v) = f.tolerance.filter(|v| v.is_finite()) {
                ws.write_number(r, 10, v)?;
            }
            ws.write_string(r, 11, mask::text(&f.message_zh, unmask))?;
            ws.write_string(r, 12, mask::text(&f.message_en, unmask))?;
            ws.write_string(r, 13, "open")?;
        }
        let n = input.findings.len().min(MAX_ROWS) as u32;
        ws.autofilter(0, 0, n.max(1), 13)?;
    }

    // ---- 数量核对 reconciliation
    {
        let ws = wb.add_worksheet().set_name("数量核对 reconciliation")?;
        header(
            ws,
            &[
                ("数据源 source", 18.0),
                ("图层 layer", 10.0),
                ("读取 read", 10.0),
                ("入库 loaded", 10.0),
                ("未变 unchanged", 10.0),
                ("待审 held", 10.0),
                ("隔离 quarantined", 10.0),
                ("平衡 balanced", 10.0),
            ],
            &head,
        )?;
        for (i, r) in s.reconciliation.iter().enumerate() {
            let row = i as u32 + 1;
            ws.write_string(row, 0, &r.source)?;
            ws.write_string(row, 1, &r.layer)?;
            for (j, v) in [r.read, r.loaded, r.unchanged, r.held, r.quarantined]
                .iter()
                .enumerate()
            {
                ws.write_number(row, 2 + j as u16, *v as f64)?;
            }
            ws.write_string(row, 7, if r.balanced() { "✓" } else { "✗" })?;
        }
        let row = s.reconciliation.len() as u32 + 1;
        ws.write_string_with_format(row, 0, "合计 total", &bold)?;
        for (j, v) in [
            s.total(|r| r.read),
            s.total(|r| r.loaded),
            s.total(|r| r.unchanged),
            s.total(|r| r.held),
            s.total(|r| r.quarantined),
        ]
        .iter()
        .enumerate()
        {
            ws.write_number_with_format(row, 2 + j as u16, *v as f64, &bold)?;
        }
    }

    // ---- 合库冲突 conflicts
    if !conflicts.is_empty() {
        let ws = wb.add_worksheet().set_name("合库冲突 conflicts")?;
        header(
            ws,
            &[
                ("冲突编号 conflict_id", 22.0),
                ("规则 rule_id", 10.0),
                ("图层 layer", 10.0),
                ("要素键 feature_key", 30.0),
                ("相关要素 other_key", 30.0),
                ("说明 detail", 60.0),
                ("可选裁决 choices", 24.0),
                ("裁决 decision", 14.0),
                ("裁决人 decided_by", 12.0),
                ("裁决时间 decided_at", 20.0),
                ("运行号 run_id", 30.0),
            ],
            &head,
        )?;
        for (i, c) in conflicts.iter().take(MAX_ROWS).enumerate() {
            let r = i as u32 + 1;
            for (j, v) in [
                c.conflict_id.as_str(),
                &c.rule_id,
                &c.layer,
                &c.feature_key,
                &c.other_key,
                &mask::text(&c.detail, unmask),
                &c.choices,
                &c.decision,
                &c.decided_by,
                &c.decided_at,
                &c.run_id,
            ]
            .iter()
            .enumerate()
            {
                ws.write_string(r, j as u16, *v)?;
            }
        }
        ws.autofilter(0, 0, conflicts.len().min(MAX_ROWS) as u32, 10)?;
    }
    wb.save(path)
}

/// Write `findings.xlsx`.
pub fn write_xlsx(
    input: &ReportInput<'_>,
    conflicts: &[ConflictRow],
    path: &Path,
) -> Result<(), ReportError> {
    write_book(input, conflicts, path).map_err(|source| ReportError::Xlsx {
        path: path.display().to_string(),
        source,
    })
}

/// Write `conflicts.csv` (UTF-8, the registry's `conflicts` columns).
pub fn write_conflicts_csv(
    conflicts: &[ConflictRow],
    unmask: bool,
    path: &Path,
) -> Result<(), ReportError> {
    let io = |e: csv::Error| ReportError::io(path, e);
    let mut w = csv::Writer::from_path(path).map_err(io)?;
    w.write_record([
        "conflict_id",
        "run_id",
        "rule_id",
        "layer",
        "feature_key",
        "other_key",
        "detail",
        "choices",
        "decision",
        "decided_by",
        "decided_at",
    ])
    .map_err(io)?;
    for c in conflicts {
        w.write_record([
            &c.conflict_id,
            &c.run_id,
            &c.rule_id,
            &c.layer,
            &c.feature_key,
            &c.other_key,
            &mask::text(&c.detail, unmask),
            &c.choices,
            &c.decision,
            &c.decided_by,
            &c.decided_at,
        ])
        .map_err(io)?;
    }
    w.flush().map_err(|e| ReportError::io(path, e))
}
