//! The decisions sheet: written by every run (`decisions.csv`, `decisions.xlsx`), one row per
//! conflict with its allowed choices and an empty `decision` column; read back, filled in, by
//! `cadastra run --decisions FILE` (CSV or XLSX), checked before anything is written.
//!
//! Columns: conflict_id, rule, title, layer, feature_key, other_key, detail, held_records, status,
//! choices, suggested, decision, decided_by. Reading needs only conflict_id, decision and
//! decided_by (found by name, any order); rows with an empty decision are skipped.

use crate::conflict::{choices_text, Choice, Conflict};
use crate::resolve::{Decision, DecisionOrigin, Status};
use std::collections::{BTreeMap, HashMap};
use std::path::Path;

/// The sheet's columns, in order.
pub const COLUMNS: &[&str] = &[
    "conflict_id",
    "rule",
    "title",
    "layer",
    "feature_key",
    "other_key",
    "detail",
    "held_records",
    "status",
    "choices",
    "suggested",
    "decision",
    "decided_by",
];

/// A problem with a decisions sheet, naming the file, the row (as a spreadsheet shows it: the
/// header is row 1) and the field.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SheetError {
    #[error("{path}: cannot read: {message}")]
    Read { path: String, message: String },
    #[error("{path}: cannot write: {message}")]
    Write { path: String, message: String },
    #[error("{path}: no column {column} in the header row (the sheet cadastra wrote has it)")]
    MissingColumn { path: String, column: &'static str },
    #[error("{path} row {row}, field {field}: {message}")]
    Row {
        path: String,
        row: usize,
        field: &'static str,
        message: String,
    },
}

/// One filled-in row of a decisions sheet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SheetRow {
    /// row number as a spreadsheet shows it (header = 1)
    pub row: usize,
    pub conflict_id: String,
    pub decision: String,
    pub decided_by: String,
}

/// One row of the sheet as written.
#[derive(Debug, Clone)]
pub struct SheetLine {
    pub cells: Vec<String>,
    pub choices: Vec<String>,
}

/// The rows of the sheet for these conflicts (sorted by id), with their state.
pub fn lines(conflicts: &[Conflict], status: &BTreeMap<String, Status>) -> Vec<SheetLine> {
    conflicts
        .iter()
        .map(|c| {
            let st = status.get(&c.id).cloned().unwrap_or(Status::Reported);
            let (decision, by) = match &st {
                Status::Decided(d) => (d.choice.to_string(), d.decided_by.clone()),
                _ => (String::new(), String::new()),
            };
            SheetLine {
                cells: vec![
                    c.id.clone(),
                    c.rule.to_string(),
                    format!("{} {}", c.rule.title_zh(), c.rule.title_en()),
                    c.layer.clone(),
                    c.feature_key.clone(),
                    c.other_key.clone().unwrap_or_default(),
                    c.detail.clone(),
                    c.held_text(),
                    st.as_str().to_string(),
                    choices_text(&c.choices),
                    c.suggested
                        .as_ref()
                        .map(Choice::to_string)
                        .unwrap_or_default(),
                    decision,
                    by,
                ],
                choices: c.choices.iter().map(Choice::to_string).collect(),
            }
        })
        .collect()
}

/// Write `decisions.csv` (UTF-8 with a byte-order mark, so that Excel shows the Chinese).
pub fn write_csv(path: &Path, lines: &[SheetLine]) -> Result<(), SheetError> {
    let err = |e: &dyn std::fmt::Display| SheetError::Write {
        path: path.display().to_string(),
        message: e.to_string(),
    };
    let mut buf: Vec<u8> = b"\xEF\xBB\xBF".to_vec();
    {
        let mut w = csv::Writer::from_writer(&mut buf);
        w.write_record(COLUMNS).map_err(|e| err(&e))?;
        for l in lines {
            w.write_record(&l.cells).map_err(|e| err(&e))?;
        }
        w.flush().map_err(|e| err(&e))?;
    }
    std::fs::write(path, buf).map_err(|e| err(&e))
}

/// Write `decisions.xlsx`: sheet `decisions` (the decision cells offer the allowed choices as a
/// drop-down list) and a sheet `说明 help` explaining the choices.
pub fn write_xlsx(path: &Path, lines: &[SheetLine]) -> Result<(), SheetError> {
    use rust_xlsxwriter::{DataValidation, Format, Workbook};
    let err = |e: &dyn std::fmt::Display| SheetError::Write {
        path: path.display().to_string(),
        message: e.to_string(),
    };
    let mut wb = Workbook::new();
    let head = Format::new().set_bold().set_background_color(0xD9E1F2);
    let fill = Format::new().set_background_color(0xFFF2CC);
    {
        let ws = wb.add_worksheet();
        ws.set_name("decisions").map_err(|e| err(&e))?;
        for (c, name) in COLUMNS.iter().enumerate() {
            ws.write_string_with_format(0, c as u16, *name, &head)
                .map_err(|e| err(&e))?;
        }
        let widths = [
            26.0, 10.0, 30.0, 9.0, 24.0, 24.0, 70.0, 40.0, 9.0, 30.0, 14.0, 16.0, 14.0,
        ];
        for (c, w) in widths.iter().enumerate() {
            ws.set_column_width(c as u16, *w).map_err(|e| err(&e))?;
        }
        let dcol = COLUMNS.iter().position(|c| *c == "decision").unwrap_or(11) as u16;
        for (i, l) in lines.iter().enumerate() {
            let row = (i + 1) as u32;
            for (c, v) in l.cells.iter().enumerate() {
                let c = c as u16;
                if c >= dcol {
                    ws.write_string_with_format(row, c, v, &fill)
                        .map_err(|e| err(&e))?;
                } else if !v.is_empty() {
                    ws.write_string(row, c, v).map_err(|e| err(&e))?;
                }
            }
            if let Ok(dv) = DataValidation::new().allow_list_strings(&l.choices) {
                ws.add_data_validation(row, dcol, row, dcol, &dv)
                    .map_err(|e| err(&e))?;
            }
        }
        ws.set_freeze_panes(1, 1).map_err(|e| err(&e))?;
        if !lines.is_empty() {
            ws.autofilter(0, 0, lines.len() as u32, (COLUMNS.len() - 1) as u16)
                .map_err(|e| err(&e))?;
        }
    }
    {
        let ws = wb.add_worksheet();
        ws.set_name("说明 help").map_err(|e| err(&e))?;
        ws.set_column_width(0, 18.0).map_err(|e| err(&e))?;
        ws.set_column_width(1, 110.0).map_err(|e| err(&e))?;
        for (i, (k, v)) in HELP.iter().enumerate() {
            ws.write_string_with_format(i as u32, 0, *k, &head)
                .map_err(|e| err(&e))?;
            ws.write_string(i as u32, 1, *v).map_err(|e| err(&e))?;
        }
    }
    wb.save(path).map_err(|e| err(&e))
}

const HELP: &[(&str, &str)] = &[
    ("填写 how to", "在 decision 列选择一个 choices 中列出的裁决, 在 decided_by 列填写裁决人; 然后运行 cadastra run PIPELINE --decisions 本文件. Pick one of the listed choices in `decision`, put your name in `decided_by`, then run `cadastra run PIPELINE --decisions THIS_FILE`. Empty decisions stay held."),
    ("accept", "按交付原样入库(双方都保留). Load the held records as delivered; both sides stay."),
    ("reject", "不入库, 记录转入隔离表(含裁决理由). Do not load the held records; they go to quarantine with the decision as reason."),
    ("keep:SIDE", "保留该方(registry = 登记库中已有记录, 或来源系统名)的记录, 其余被拒绝; 选择来源系统时其记录取代登记库中的记录(旧记录保存在 review 表). Keep that side's record (registry = the row already in the registry, or a source system); the others are rejected. Keeping an incoming record writes it over the registry row, whose old version is kept in the review table."),
    ("merge", "按字段类合并: 图形和面积取自 geometry_from, 其余取自 legal_from (流程文件 [merge]). One record from both sides: geometry and areas from geometry_from, the other fields from legal_from (the pipeline's [merge] section)."),
    ("renumber:CODE", "按面积多数原则改编区县代码(ZDDM/BDCDYH 第1-6位). Give the parcel this county code (positions 1-6 of ZDDM and BDCDYH), by majority of area."),
    ("normalise", "证件号统一为该权利人有效的18位号码. Replace the inconsistent ID number by the person's valid 18-digit number."),
    ("registration", "地籍记录采用登记(法定)值. Take the registered (legal) value into the cadastral record."),
    ("status", "held = 待审, 记录在 review 表; decided = 已裁决; reported = 仅报告, 按交付入库. held: records wait in the review table; decided; reported: the policy does not hold this rule, records loaded as delivered."),
];

fn header_index(path: &Path, header: &[String], name: &'static str) -> Result<usize, SheetError> {
    header
        .iter()
        .position(|h| {
            h.trim()
                .trim_start_matches('\u{feff}')
                .eq_ignore_ascii_case(name)
        })
        .ok_or(SheetError::MissingColumn {
            path: path.display().to_string(),
            column: name,
        })
}

fn rows_from_table(path: &Path, table: Vec<Vec<String>>) -> Result<Vec<SheetRow>, SheetError> {
    let mut it = table.into_iter();
    let Some(header) = it.next() else {
        return Err(SheetError::Read {
            path: path.display().to_string(),
            message: "the sheet is empty (no header row)".into(),
        });
    };
    let id = header_index(path, &header, "conflict_id")?;
    let dec = header_index(path, &header, "decision")?;
    let by = header_index(path, &header, "decided_by")?;
    let mut out = Vec::new();
    for (i, r) in it.enumerate() {
        let get = |c: usize| r.get(c).map(|s| s.trim().to_string()).unwrap_or_default();
        let row = SheetRow {
            row: i + 2,
            conflict_id: get(id),
            decision: get(dec),
            decided_by: get(by),
        };
        if row.conflict_id.is_empty() && row.decision.is_empty() {
            continue;
        }
        out.push(row);
    }
    Ok(out)
}

/// Read a filled-in sheet: `.xlsx`/`.xlsm`/`.xls`/`.ods` through calamine (sheet `decisions`, else
/// the first), anything else as CSV (UTF-8, a byte-order mark allowed).
pub fn read(path: &Path) -> Result<Vec<SheetRow>, SheetError> {
    let rerr = |m: String| SheetError::Read {
        path: path.display().to_string(),
        message: m,
    };
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .unwrap_or("")
        .to_ascii_lowercase();
    let table: Vec<Vec<String>> =
        if matches!(ext.as_str(), "xlsx" | "xlsm" | "xls" | "xlsb" | "ods") {
            use calamine::Reader;
            let mut wb = calamine::open_workbook_auto(path).map_err(|e| rerr(e.to_string()))?;
            let names = wb.sheet_names();
            let name = names
                .iter()
                .find(|n| n.eq_ignore_ascii_case("decisions"))
                .or(names.first())
                .cloned()
                .ok_or_else(|| rerr("the workbook has no sheet".into()))?;
            let range = wb
                .worksheet_range(&name)
                .map_err(|e| rerr(format!("sheet {name}: {e}")))?;
            // rows as the spreadsheet numbers them, from row 1 even when the range starts lower
            let (r0, c0) = range.start().unwrap_or((0, 0));
            let mut t: Vec<Vec<String>> = vec![Vec::new(); r0 as usize];
            for row in range.rows() {
                let mut cells = vec![String::new(); c0 as usize];
                cells.extend(row.iter().map(|d| d.to_string()));
                t.push(cells);
            }
            // the header is the first non-empty row
            while t
                .first()
                .is_some_and(|r| r.iter().all(|c| c.trim().is_empty()))
            {
                t.remove(0);
            }
            t
        } else {
            let bytes = std::fs::read(path).map_err(|e| rerr(e.to_string()))?;
            let text = match std::str::from_utf8(&bytes) {
                Ok(t) => t.trim_start_matches('\u{feff}').to_string(),
                Err(e) => {
                    return Err(rerr(format!(
                        "not UTF-8 text ({e}); save it as CSV UTF-8 or XLSX"
                    )))
                }
            };
            let mut rd = csv::ReaderBuilder::new()
                .has_headers(false)
                .flexible(true)
                .from_reader(text.as_bytes());
            let mut t = Vec::new();
            for rec in rd.records() {
                let rec = rec.map_err(|e| rerr(e.to_string()))?;
                t.push(rec.iter().map(str::to_string).collect());
            }
            t
        };
    rows_from_table(path, table)
}

/// What the registry knows of a conflict from earlier runs (`conflicts` table).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Stored {
    pub rule: String,
    pub choices: String,
    pub decision: Option<String>,
    pub decided_by: Option<String>,
    pub decided_at: Option<String>,
}

/// New decisions by conflict id, and notes about rows that were not needed.
pub type Checked = (HashMap<String, Decision>, Vec<String>);

/// Check the rows of a sheet against this run's conflicts and the stored ones, and turn them
/// into decisions. Every problem is reported. Rows naming a stored conflict this run does not
/// see any more come back in the notes and are not applied.
pub fn validate(
    path: &Path,
    rows: &[SheetRow],
    conflicts: &[Conflict],
    stored: &HashMap<String, Stored>,
    now: &str,
) -> Result<Checked, Vec<SheetError>> {
    let by_id: HashMap<&str, &Conflict> = conflicts.iter().map(|c| (c.id.as_str(), c)).collect();
    let mut errors = Vec::new();
    let mut notes = Vec::new();
    let mut out: HashMap<String, Decision> = HashMap::new();
    let mut seen: HashMap<String, (usize, String)> = HashMap::new();
    let p = path.display().to_string();
    let row_err = |row: usize, field: &'static str, message: String| SheetError::Row {
        path: p.clone(),
        row,
        field,
        message,
    };
    for r in rows {
        if r.conflict_id.is_empty() {
            errors.push(row_err(
                r.row,
                "conflict_id",
                format!("empty, but the row has decision {:?}", r.decision),
            ));
            continue;
        }
        let c = by_id.get(r.conflict_id.as_str());
        if c.is_none() && !stored.contains_key(&r.conflict_id) {
            errors.push(row_err(
                r.row,
                "conflict_id",
                format!(
                    "{:?} is not a conflict of this run or of the registry (decisions apply to the conflicts a run reports in decisions.csv / decisions.xlsx)",
                    r.conflict_id
                ),
            ));
            continue;
        }
        if r.decision.is_empty() {
            continue; // still undecided
        }
        let Some(c) = c else {
            notes.push(format!(
                "{} row {}: conflict {} no longer arises in this run; its decision {:?} was not needed",
                p, r.row, r.conflict_id, r.decision
            ));
            continue;
        };
        let wanted = r.decision.trim();
        let choice = c
            .choices
            .iter()
            .find(|ch| {
                ch.to_string().eq_ignore_ascii_case(wanted)
                    || wanted.parse::<Choice>().is_ok_and(|w| &w == *ch)
            })
            .cloned();
        let Some(choice) = choice else {
            errors.push(row_err(
                r.row,
                "decision",
                format!(
                    "{wanted:?} is not possible for {} ({} {}); choose one of: {}",
                    c.id,
                    c.rule,
                    c.rule.title_en(),
                    choices_text(&c.choices)
                ),
            ));
            continue;
        };
        if r.decided_by.is_empty() {
            errors.push(row_err(
                r.row,
                "decided_by",
                format!("empty: say who decided {} for {}", choice, c.id),
            ));
            continue;
        }
        if let Some((first_row, first)) = seen.get(&c.id) {
            if *first != choice.to_string() {
                errors.push(row_err(
                    r.row,
                    "decision",
                    format!(
                        "{} is decided twice: {first:?} in row {first_row} and {:?} here",
                        c.id,
                        choice.to_string()
                    ),
                ));
            }
            continue;
        }
        seen.insert(c.id.clone(), (r.row, choice.to_string()));
        if let Some(prev) = stored.get(&c.id).and_then(|s| s.decision.clone()) {
            if !prev.eq_ignore_ascii_case(&choice.to_string()) {
                let s = &stored[&c.id];
                errors.push(row_err(
                    r.row,
                    "decision",
                    format!(
                        "{} was already decided {prev:?} by {} at {}; decisions are final",
                        c.id,
                        s.decided_by.as_deref().unwrap_or("?"),
                        s.decided_at.as_deref().unwrap_or("?")
                    ),
                ));
            }
            continue; // the same decision again: already stored, nothing new
        }
        out.insert(
            c.id.clone(),
            Decision {
                choice,
                decided_by: r.decided_by.clone(),
                decided_at: now.to_string(),
                origin: DecisionOrigin::Sheet,
            },
        );
    }
    if errors.is_empty() {
        Ok((out, notes))
    } else {
        Err(errors)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::conflict::{Member, MergeRule};
    use crate::input::RecordRef;

    fn conflict(id: &str, choices: Vec<Choice>) -> Conflict {
        Conflict {
            id: id.into(),
            rule: MergeRule::CrossesBorder,
            layer: "ZDJBXX".into(),
            feature_key: "370114001001GB00003".into(),
            other_key: Some("370116001001GB00333".into()),
            detail: "parcel reaches into 莱芜区".into(),
            members: vec![Member {
                record: RecordRef::new(0, 0),
                label: "jinan".into(),
                identity: "ZDJBXX:jinan/370114001001GB00003".into(),
                key: "370114001001GB00003".into(),
                subject: true,
            }],
            choices,
            suggested: Some(Choice::Accept),
            value: None,
            at: None,
            geom: None,
            edits: vec![],
        }
    }

    fn check(csv_text: &str) -> Result<HashMap<String, Decision>, Vec<String>> {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("d.csv");
        std::fs::write(&p, csv_text).unwrap();
        let rows = read(&p).map_err(|e| vec![e.to_string()])?;
        let cs = vec![conflict(
            "MERGE-03-aaaaaaaaaaaa",
            vec![
                Choice::Accept,
                Choice::Renumber("370116".into()),
                Choice::Reject,
            ],
        )];
        let mut stored = HashMap::new();
        stored.insert(
            "MERGE-01-bbbbbbbbbbbb".to_string(),
            Stored {
                rule: "MERGE-01".into(),
                ..Default::default()
            },
        );
        validate(&p, &rows, &cs, &stored, "2026-01-01T00:00:00Z")
            .map(|(d, _)| d)
            .map_err(|e| e.iter().map(|e| e.to_string()).collect())
    }

    #[test]
    fn a_filled_sheet_becomes_decisions() {
        let d = check(
            "\u{feff}conflict_id,decision,decided_by\nMERGE-03-aaaaaaaaaaaa,Renumber:370116,王工\n",
        )
        .unwrap();
        let x = &d["MERGE-03-aaaaaaaaaaaa"];
        assert_eq!(x.choice, Choice::Renumber("370116".into()));
        assert_eq!(x.decided_by, "王工");
    }

    #[test]
    fn empty_decisions_stay_undecided() {
        let d = check("conflict_id,decision,decided_by\nMERGE-03-aaaaaaaaaaaa,,\n").unwrap();
        assert!(d.is_empty());
    }

    #[test]
    fn unknown_conflicts_and_impossible_choices_are_named_with_their_row() {
        let e = check(
            "rule,conflict_id,decision,decided_by\nMERGE-03,MERGE-03-aaaaaaaaaaaa,normalise,王工\nMERGE-09,MERGE-09-cccccccccccc,accept,王工\nMERGE-03,MERGE-03-aaaaaaaaaaaa,accept,\n",
        )
        .unwrap_err();
        assert_eq!(e.len(), 3, "{e:?}");
        assert!(
            e[0].contains("row 2, field decision")
                && e[0].contains("accept | renumber:370116 | reject"),
            "{}",
            e[0]
        );
        assert!(
            e[1].contains("row 3, field conflict_id") && e[1].contains("MERGE-09-cccccccccccc"),
            "{}",
            e[1]
        );
        assert!(e[2].contains("row 4, field decided_by"), "{}", e[2]);
    }

    #[test]
    fn a_sheet_without_the_columns_is_refused() {
        let e = check("id,choice\nx,accept\n").unwrap_err();
        assert!(e[0].contains("no column conflict_id"), "{e:?}");
    }

    #[test]
    fn xlsx_round_trip() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("d.xlsx");
        let cs = vec![conflict(
            "MERGE-03-aaaaaaaaaaaa",
            vec![Choice::Accept, Choice::Reject],
        )];
        let ls = lines(&cs, &BTreeMap::new());
        write_xlsx(&p, &ls).unwrap();
        let rows = read(&p).unwrap();
        assert_eq!(rows.len(), 1);
        assert_eq!(rows[0].conflict_id, "MERGE-03-aaaaaaaaaaaa");
        assert_eq!(rows[0].row, 2);
        assert!(rows[0].decision.is_empty());
        let c = dir.path().join("d.csv");
        write_csv(&c, &ls).unwrap();
        assert_eq!(read(&c).unwrap(), rows);
    }
}
