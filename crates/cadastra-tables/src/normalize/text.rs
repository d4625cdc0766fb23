//! FMT-05: full-width characters, blanks and placeholder values, with counts of what changed.

use super::fullwidth_to_ascii;
use cadastra_model::StrColumn;
use std::borrow::Cow;

/// Values that mean "no value" in legacy exports. Compared after full-width conversion and
/// trimming, ASCII case-insensitively (so `Null`, `ｎｕｌｌ` and ` n/a ` match too).
pub const DEFAULT_PLACEHOLDERS: &[&str] = &[
    "无", "NULL", "/", "-", "—", "——", "空", "N/A", "#N/A", "\\N",
];

/// What to do with blanks inside a value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Blanks {
    /// leave them (names, addresses)
    #[default]
    Keep,
    /// runs of blanks become one ASCII space
    Collapse,
    /// all blanks go (identifiers, codes: `3701 0219 8001 0112 34`)
    Remove,
}

/// How [`clean_text`] cleans a value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TextOptions {
    /// `Ａ`-`Ｚ`, `０`-`９`, full-width punctuation (U+FF01..U+FF5E) and U+3000 to ASCII
    pub fullwidth: bool,
    /// strip leading and trailing blanks (Unicode white space, U+FEFF, U+200B)
    pub trim: bool,
    pub blanks: Blanks,
    /// values that become null; see [`DEFAULT_PLACEHOLDERS`]
    pub placeholders: Vec<String>,
}

impl Default for TextOptions {
    fn default() -> Self {
        TextOptions {
            fullwidth: true,
            trim: true,
            blanks: Blanks::Keep,
            placeholders: DEFAULT_PLACEHOLDERS.iter().map(|s| s.to_string()).collect(),
        }
    }
}

/// What cleaning did to one value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Changes {
    pub fullwidth: bool,
    pub trimmed: bool,
    /// inner blanks collapsed or removed
    pub blanks: bool,
    /// a placeholder became null
    pub placeholder: bool,
    /// nothing was left after trimming: the value became null
    pub emptied: bool,
}

impl Changes {
    /// True when anything changed.
    pub fn any(&self) -> bool {
        self.fullwidth || self.trimmed || self.blanks || self.placeholder || self.emptied
    }
}

/// Counts over many values, for the run summary.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ChangeCounts {
    /// non-null values looked at
    pub values: u64,
    /// values changed in any way
    pub changed: u64,
    pub fullwidth: u64,
    pub trimmed: u64,
    pub blanks: u64,
    pub placeholders: u64,
    pub emptied: u64,
}

impl ChangeCounts {
    /// Count one value.
    pub fn add(&mut self, c: Changes) {
        self.values += 1;
        self.changed += u64::from(c.any());
        self.fullwidth += u64::from(c.fullwidth);
        self.trimmed += u64::from(c.trimmed);
        self.blanks += u64::from(c.blanks);
        self.placeholders += u64::from(c.placeholder);
        self.emptied += u64::from(c.emptied);
    }
    /// Add another set of counts (e.g. from another file).
    pub fn merge(&mut self, o: &ChangeCounts) {
        self.values += o.values;
        self.changed += o.changed;
        self.fullwidth += o.fullwidth;
        self.trimmed += o.trimmed;
        self.blanks += o.blanks;
        self.placeholders += o.placeholders;
        self.emptied += o.emptied;
    }
}

fn is_blank(c: char) -> bool {
    c.is_whitespace() || c == '\u{FEFF}' || c == '\u{200B}'
}

/// Clean one value. `None` means null (a placeholder, or nothing left after trimming).
///
/// ```
/// use cadastra_tables::normalize::{clean_text, TextOptions};
/// let o = TextOptions::default();
/// assert_eq!(clean_text(" ３７０１１６\u{3000}", &o).0.as_deref(), Some("370116"));
/// assert_eq!(clean_text("ｎｕｌｌ", &o).0, None);
/// assert!(clean_text("ｎｕｌｌ", &o).1.placeholder);
/// ```
pub fn clean_text<'a>(s: &'a str, opts: &TextOptions) -> (Option<Cow<'a, str>>, Changes) {
    // Most values (codes, numbers, dates) are ASCII that needs nothing: found in one pass over the
    // bytes, without decoding characters (`clean_text_general` gives the same answer, tested).
    if let Some(keep) = ascii_unchanged(s, opts) {
        let ch = Changes {
            placeholder: !keep,
            ..Changes::default()
        };
        return (keep.then_some(Cow::Borrowed(s)), ch);
    }
    clean_text_general(s, opts)
}

/// Whether `v` (trimmed) is one of the placeholders that mean null. A placeholder folds to at
/// most its own length: longer values (nearly all) skip the comparison.
fn is_placeholder(v: &str, opts: &TextOptions) -> bool {
    opts.placeholders
        .iter()
        .any(|p| v.len() <= p.len() && fullwidth_to_ascii(p.trim()).eq_ignore_ascii_case(v))
}

/// For a non-empty ASCII value no option changes: `Some(true)` (kept as is) or `Some(false)` (a
/// placeholder); `None` when the value needs the general path.
fn ascii_unchanged(s: &str, opts: &TextOptions) -> Option<bool> {
    let b = s.as_bytes();
    let (&first, &last) = (b.first()?, b.last()?);
    let ws = |c: u8| (c as char).is_whitespace();
    if !s.is_ascii() || ws(first) || ws(last) {
        return None;
    }
    let inner_ok = match opts.blanks {
        Blanks::Keep => true,
        Blanks::Collapse => !b
            .iter()
            .enumerate()
            .any(|(i, &c)| ws(c) && (c != b' ' || b.get(i + 1).is_some_and(|&n| ws(n)))),
        Blanks::Remove => !b.iter().any(|&c| ws(c)),
    };
    if !inner_ok {
        return None;
    }
    Some(!is_placeholder(s, opts))
}

fn clean_text_general<'a>(s: &'a str, opts: &TextOptions) -> (Option<Cow<'a, str>>, Changes) {
    let mut ch = Changes::default();
    let mut v: Cow<'a, str> = Cow::Borrowed(s);
    if opts.fullwidth {
        if let Cow::Owned(o) = fullwidth_to_ascii(s) {
            ch.fullwidth = true;
            v = Cow::Owned(o);
        }
    }
    if opts.trim {
        let t = v.trim_matches(is_blank);
        if t.len() != v.len() {
            ch.trimmed = true;
            v = match v {
                Cow::Borrowed(b) => Cow::Borrowed(b.trim_matches(is_blank)),
                Cow::Owned(o) => Cow::Owned(o.trim_matches(is_blank).to_string()),
            };
        }
    }
    if v.is_empty() {
        ch.emptied = !s.is_empty();
        return (None, ch);
    }
    if is_placeholder(v.trim_matches(is_blank), opts) {
        ch.placeholder = true;
        return (None, ch);
    }
    match opts.blanks {
        Blanks::Keep => {}
        Blanks::Collapse => {
            let needs = v
                .char_indices()
                .any(|(i, c)| is_blank(c) && (c != ' ' || v[i + 1..].starts_with(is_blank)));
            if needs {
                let mut out = String::with_capacity(v.len());
                let mut prev_blank = false;
                for c in v.chars() {
                    if is_blank(c) {
                        if !prev_blank {
                            out.push(' ');
                        }
                        prev_blank = true;
                    } else {
                        out.push(c);
                        prev_blank = false;
                    }
                }
                ch.blanks = true;
                v = Cow::Owned(out);
            }
        }
        Blanks::Remove => {
            if v.chars().any(is_blank) {
                ch.blanks = true;
                v = Cow::Owned(v.chars().filter(|&c| !is_blank(c)).collect());
            }
        }
    }
    (Some(v), ch)
}

/// Clean every value of a column; nulls stay null and are not counted.
pub fn clean_column(col: &StrColumn, opts: &TextOptions) -> (StrColumn, ChangeCounts) {
    let mut out = StrColumn::with_capacity(col.len(), col.text_bytes());
    let mut counts = ChangeCounts::default();
    for v in col.iter() {
        match v {
            None => out.push(None),
            Some(s) => {
                let (c, ch) = clean_text(s, opts);
                counts.add(ch);
                out.push(c.as_deref());
            }
        }
    }
    (out, counts)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_ascii_fast_path_answers_as_the_general_path() {
        let alphabet = ['a', 'n', 'u', 'l', 'L', '/', '-', ' ', '\t', '0', '无'];
        let mut values = vec![String::new()];
        let mut last = vec![String::new()];
        for _ in 0..4 {
            let next: Vec<String> = last
                .iter()
                .flat_map(|s| alphabet.iter().map(move |c| format!("{s}{c}")))
                .collect();
            values.extend(next.iter().cloned());
            last = next;
        }
        values.extend(
            [
                "null",
                "NULL",
                "N/A",
                "n/a",
                " null",
                "370116 ",
                "GB/T 21010-2017",
            ]
            .map(String::from),
        );
        let mut fast = 0;
        for blanks in [Blanks::Keep, Blanks::Collapse, Blanks::Remove] {
            for trim in [true, false] {
                for fullwidth in [true, false] {
                    let o = TextOptions {
                        fullwidth,
                        trim,
                        blanks,
                        ..TextOptions::default()
                    };
                    for v in &values {
                        fast += usize::from(ascii_unchanged(v, &o).is_some());
                        assert_eq!(
                            clean_text(v, &o),
                            clean_text_general(v, &o),
                            "{v:?} {blanks:?} trim {trim} fullwidth {fullwidth}"
                        );
                    }
                }
            }
        }
        assert!(fast > 10_000, "the fast path took {fast} values");
    }

    fn check(input: &str, opts: &TextOptions, want: Option<&str>, changes: Changes) {
        let (got, ch) = clean_text(input, opts);
        assert_eq!(got.as_deref(), want, "value of {input:?}");
        assert_eq!(ch, changes, "changes of {input:?}");
    }

    fn d() -> TextOptions {
        TextOptions::default()
    }

    const NONE: Changes = Changes {
        fullwidth: false,
        trimmed: false,
        blanks: false,
        placeholder: false,
        emptied: false,
    };
    const FW: Changes = Changes {
        fullwidth: true,
        ..NONE
    };
    const TRIM: Changes = Changes {
        trimmed: true,
        ..NONE
    };
    const PH: Changes = Changes {
        placeholder: true,
        ..NONE
    };

    #[test]
    fn unchanged_values_are_borrowed() {
        let (v, ch) = clean_text("莱芜区凤城街道", &d());
        assert!(matches!(v, Some(Cow::Borrowed(_))));
        assert!(!ch.any());
        check("", &d(), None, NONE);
    }

    #[test]
    fn fullwidth_letters_digits_punctuation_and_space() {
        check("ＪＣ００１５", &d(), Some("JC0015"), FW);
        check("（北）１号楼，２单元", &d(), Some("(北)1号楼,2单元"), FW);
        check("张\u{3000}三", &d(), Some("张 三"), FW);
        check("ｘ", &d(), Some("x"), FW);
        // CJK punctuation that has no ASCII twin stays
        check("一、二。", &d(), Some("一、二。"), NONE);
        let keep = TextOptions {
            fullwidth: false,
            ..d()
        };
        check("ＪＣ", &keep, Some("ＪＣ"), NONE);
    }

    #[test]
    fn trimming_and_empty_values() {
        check("  0702\t", &d(), Some("0702"), TRIM);
        check("\u{FEFF}0702\u{200B}", &d(), Some("0702"), TRIM);
        check(
            "\u{3000}\u{3000}",
            &d(),
            None,
            Changes {
                fullwidth: true,
                trimmed: true,
                emptied: true,
                ..NONE
            },
        );
        check(
            "   ",
            &d(),
            None,
            Changes {
                trimmed: true,
                emptied: true,
                ..NONE
            },
        );
        let keep = TextOptions { trim: false, ..d() };
        check(" a ", &keep, Some(" a "), NONE);
    }

    #[test]
    fn placeholders_become_null() {
        for p in [
            "无", "NULL", "null", "Null", "/", "-", "—", "——", "空", "N/A", "n/a", "#N/A", "\\N",
        ] {
            check(p, &d(), None, PH);
        }
        check(
            " 无 ",
            &d(),
            None,
            Changes {
                trimmed: true,
                placeholder: true,
                ..NONE
            },
        );
        check(
            "ＮＵＬＬ",
            &d(),
            None,
            Changes {
                fullwidth: true,
                placeholder: true,
                ..NONE
            },
        );
        check(
            "－",
            &d(),
            None,
            Changes {
                fullwidth: true,
                placeholder: true,
                ..NONE
            },
        );
        // only whole values
        check("无锡路", &d(), Some("无锡路"), NONE);
        check("-5", &d(), Some("-5"), NONE);
        let custom = TextOptions {
            placeholders: vec!["不详".into(), "？".into()],
            ..d()
        };
        check("不详", &custom, None, PH);
        check("?", &custom, None, PH);
        check("无", &custom, Some("无"), NONE);
    }

    #[test]
    fn blanks_collapse_or_go() {
        let c = TextOptions {
            blanks: Blanks::Collapse,
            ..d()
        };
        check(
            "凤城  街道\t 1号",
            &c,
            Some("凤城 街道 1号"),
            Changes {
                blanks: true,
                ..NONE
            },
        );
        check("凤城 街道", &c, Some("凤城 街道"), NONE);
        check(
            "凤城\t街道",
            &c,
            Some("凤城 街道"),
            Changes {
                blanks: true,
                ..NONE
            },
        );
        let r = TextOptions {
            blanks: Blanks::Remove,
            ..d()
        };
        check(
            " 3701 0219\u{3000}8001 ",
            &r,
            Some("370102198001"),
            Changes {
                fullwidth: true,
                trimmed: true,
                blanks: true,
                ..NONE
            },
        );
    }

    #[test]
    fn column_counts() {
        let col: StrColumn = [
            Some("０７０２"),
            None,
            Some("无"),
            Some(" a "),
            Some("b"),
            Some("  "),
        ]
        .into_iter()
        .collect();
        let (out, n) = clean_column(&col, &d());
        assert_eq!(
            out.iter().collect::<Vec<_>>(),
            [Some("0702"), None, None, Some("a"), Some("b"), None]
        );
        assert_eq!(
            n,
            ChangeCounts {
                values: 5,
                changed: 4,
                fullwidth: 1,
                trimmed: 2,
                blanks: 0,
                placeholders: 1,
                emptied: 1
            }
        );
        let mut total = n;
        total.merge(&n);
        assert_eq!(total.values, 10);
    }
}
