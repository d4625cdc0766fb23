//! `--where`: a small, safe filter language, parsed here and evaluated on the rows in memory,
//! never pasted into SQL. Fields are checked against the registry schema.
//!
//! ```text
//! expr   := and ('OR' and)*
//! and    := unary ('AND' unary)*
//! unary  := 'NOT' unary | '(' expr ')' | cmp
//! cmp    := FIELD op value | FIELD ['NOT'] 'LIKE' 'text' | FIELD ['NOT'] 'IN' '(' value, ... ')'
//!         | FIELD 'IS' ['NOT'] 'NULL'
//! op     := = | != | <> | < | <= | > | >=
//! value  := 'text' (quote doubled inside) | number
//! ```
//!
//! ```
//! use cadastra_export::filter::Filter;
//! let f = Filter::parse("QLLX = '6' AND ZL LIKE '%莱芜%'").unwrap();
//! assert_eq!(f.fields(), vec!["QLLX", "ZL"]);
//! assert!(Filter::parse("ZDDM = 1; DROP TABLE x").is_err());
//! ```

use cadastra_model::{Cell, Column, Rows, TableDef};

/// A literal in a filter.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Text(String),
    Number(f64, String),
}

impl Value {
    fn text(&self) -> &str {
        match self {
            Value::Text(s) => s,
            Value::Number(_, s) => s,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

/// A parsed filter expression.
#[derive(Debug, Clone, PartialEq)]
pub enum Filter {
    And(Box<Filter>, Box<Filter>),
    Or(Box<Filter>, Box<Filter>),
    Not(Box<Filter>),
    Cmp(String, Op, Value),
    /// field, pattern, negated (`NOT LIKE`); NULL never matches either way, as in SQL
    Like(String, String, bool),
    /// field, values, negated (`NOT IN`); NULL never matches either way
    In(String, Vec<Value>, bool),
    IsNull(String),
}

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Ident(String),
    Str(String),
    Num(f64, String),
    Op(Op),
    LParen,
    RParen,
    Comma,
}

/// A filter that cannot be used, with the position (characters) where it went wrong.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("--where {expr:?}: {message} (at character {pos})")]
pub struct FilterError {
    pub expr: String,
    pub pos: usize,
    pub message: String,
}

fn lex(s: &str) -> Result<Vec<(usize, Tok)>, (usize, String)> {
    let c: Vec<char> = s.chars().collect();
    let mut i = 0;
    let mut out = Vec::new();
    while i < c.len() {
        let start = i;
        let ch = c[i];
        if ch.is_whitespace() {
            i += 1;
            continue;
        }
        match ch {
            '(' => {
                out.push((start, Tok::LParen));
                i += 1;
            }
            ')' => {
                out.push((start, Tok::RParen));
                i += 1;
            }
            ',' => {
                out.push((start, Tok::Comma));
                i += 1;
            }
            '=' => {
                out.push((start, Tok::Op(Op::Eq)));
                i += if c.get(i + 1) == Some(&'=') { 2 } else { 1 };
            }
            '!' if c.get(i + 1) == Some(&'=') => {
                out.push((start, Tok::Op(Op::Ne)));
                i += 2;
            }
            '<' => {
                let (op, n) = match c.get(i + 1) {
                    Some('=') => (Op::Le, 2),
                    Some('>') => (Op::Ne, 2),
                    _ => (Op::Lt, 1),
                };
                out.push((start, Tok::Op(op)));
                i += n;
            }
            '>' => {
                let (op, n) = match c.get(i + 1) {
                    Some('=') => (Op::Ge, 2),
                    _ => (Op::Gt, 1),
                };
                out.push((start, Tok::Op(op)));
                i += n;
            }
            '\'' => {
                let mut v = String::new();
                i += 1;
                loop {
                    match c.get(i) {
                        None => return Err((start, "unterminated 'text'".into())),
                        Some('\'') if c.get(i + 1) == Some(&'\'') => {
                            v.push('\'');
                            i += 2;
                        }
                        Some('\'') => {
                            i += 1;
                            break;
                        }
                        Some(x) => {
                            v.push(*x);
                            i += 1;
                        }
                    }
                }
                out.push((start, Tok::Str(v)));
            }
            '"' => {
                let mut v = String::new();
                i += 1;
                loop {
                    match c.get(i) {
                        None => return Err((start, "unterminated \"field\"".into())),
                        Some('"') => {
                            i += 1;
                            break;
                        }
                        Some(x) => {
                            v.push(*x);
                            i += 1;
                        }
                    }
                }
                out.push((start, Tok::Ident(v)));
            }
            x if x.is_ascii_digit()
                || ((x == '-' || x == '.') && c.get(i + 1).is_some_and(|d| d.is_ascii_digit())) =>
            {
                let mut v = String::new();
                while i < c.len()
                    && (c[i].is_ascii_digit()
                        || matches!(c[i], '.' | 'e' | 'E')
                        || (i == start && c[i] == '-'))
                {
                    v.push(c[i]);
                    i += 1;
                }
                let n: f64 = v
                    .parse()
                    .map_err(|_| (start, format!("not a number: {v}")))?;
                out.push((start, Tok::Num(n, v)));
            }
            x if x.is_ascii_alphabetic() || x == '_' => {
                let mut v = String::new();
                while i < c.len() && (c[i].is_ascii_alphanumeric() || c[i] == '_') {
                    v.push(c[i]);
                    i += 1;
                }
                out.push((start, Tok::Ident(v)));
            }
            x => return Err((start, format!("unexpected character {x:?}"))),
        }
    }
    Ok(out)
}

struct Parser {
    toks: Vec<(usize, Tok)>,
    i: usize,
    end: usize,
}

impl Parser {
    fn peek(&self) -> Option<&Tok> {
        self.toks.get(self.i).map(|(_, t)| t)
    }
    fn pos(&self) -> usize {
        self.toks.get(self.i).map_or(self.end, |(p, _)| *p)
    }
    fn kw(&self, k: &str) -> bool {
        matches!(self.peek(), Some(Tok::Ident(s)) if s.eq_ignore_ascii_case(k))
    }
    fn eat_kw(&mut self, k: &str) -> bool {
        if self.kw(k) {
            self.i += 1;
            true
        } else {
            false
        }
    }
    fn err<T>(&self, m: impl Into<String>) -> Result<T, (usize, String)> {
        Err((self.pos(), m.into()))
    }
    fn expr(&mut self) -> Result<Filter, (usize, String)> {
        let mut l = self.and()?;
        while self.eat_kw("OR") {
            let r = self.and()?;
            l = Filter::Or(Box::new(l), Box::new(r));
        }
        Ok(l)
    }
    fn and(&mut self) -> Result<Filter, (usize, String)> {
        let mut l = self.unary()?;
        while self.eat_kw("AND") {
            let r = self.unary()?;
            l = Filter::And(Box::new(l), Box::new(r));
        }
        Ok(l)
    }
    fn unary(&mut self) -> Result<Filter, (usize, String)> {
        if self.eat_kw("NOT") {
            return Ok(Filter::Not(Box::new(self.unary()?)));
        }
        if self.peek() == Some(&Tok::LParen) {
            self.i += 1;
            let e = self.expr()?;
            if self.peek() != Some(&Tok::RParen) {
                return self.err("expected )");
            }
            self.i += 1;
            return Ok(e);
        }
        self.cmp()
    }
    fn value(&mut self) -> Result<Value, (usize, String)> {
        match self.peek().cloned() {
            Some(Tok::Str(s)) => {
                self.i += 1;
                Ok(Value::Text(s))
            }
            Some(Tok::Num(n, s)) => {
                self.i += 1;
                Ok(Value::Number(n, s))
            }
            _ => self.err("expected a value: 'text' or a number"),
        }
    }
    fn cmp(&mut self) -> Result<Filter, (usize, String)> {
        let field = match self.peek().cloned() {
            Some(Tok::Ident(f))
                if !["AND", "OR", "NOT", "LIKE", "IN", "IS", "NULL"]
                    .iter()
                    .any(|k| f.eq_ignore_ascii_case(k)) =>
            {
                self.i += 1;
                f
            }
            _ => return self.err("expected a field name"),
        };
        let negate = self.eat_kw("NOT");
        let f = if self.eat_kw("LIKE") {
            match self.value()? {
                Value::Text(p) => Filter::Like(field, p, negate),
                _ => return self.err("LIKE needs a 'pattern'"),
            }
        } else if self.eat_kw("IN") {
            if self.peek() != Some(&Tok::LParen) {
                return self.err("expected ( after IN");
            }
            self.i += 1;
            let mut vals = vec![self.value()?];
            while self.peek() == Some(&Tok::Comma) {
                self.i += 1;
                vals.push(self.value()?);
            }
            if self.peek() != Some(&Tok::RParen) {
                return self.err("expected ) to close IN");
            }
            self.i += 1;
            Filter::In(field, vals, negate)
        } else if !negate && self.eat_kw("IS") {
            let not = self.eat_kw("NOT");
            if !self.eat_kw("NULL") {
                return self.err("expected NULL after IS");
            }
            let f = Filter::IsNull(field);
            return Ok(if not { Filter::Not(Box::new(f)) } else { f });
        } else if negate {
            return self.err("expected LIKE or IN after NOT");
        } else {
            let op = match self.peek() {
                Some(Tok::Op(op)) => *op,
                _ => {
                    return self
                        .err("expected an operator (=, !=, <, <=, >, >=, LIKE, IN, IS NULL)")
                }
            };
            self.i += 1;
            Filter::Cmp(field, op, self.value()?)
        };
        Ok(f)
    }
}

impl Filter {
    /// Parse a filter. Any trailing text, unknown character or SQL-looking construct is refused.
    pub fn parse(s: &str) -> Result<Filter, FilterError> {
        let wrap = |(pos, message): (usize, String)| FilterError {
            expr: s.to_string(),
            pos,
            message,
        };
        let toks = lex(s).map_err(wrap)?;
        if toks.is_empty() {
            return Err(wrap((0, "empty filter".into())));
        }
        let mut p = Parser {
            toks,
            i: 0,
            end: s.chars().count(),
        };
        let f = p.expr().map_err(wrap)?;
        if p.i < p.toks.len() {
            return Err(wrap((p.pos(), "unexpected text after the filter".into())));
        }
        Ok(f)
    }

    /// Field names the filter uses, in order of appearance, without repeats.
    pub fn fields(&self) -> Vec<&str> {
        let mut v = Vec::new();
        self.collect(&mut v);
        v
    }

    fn collect<'a>(&'a self, v: &mut Vec<&'a str>) {
        match self {
            Filter::And(a, b) | Filter::Or(a, b) => {
                a.collect(v);
                b.collect(v);
            }
            Filter::Not(a) => a.collect(v),
            Filter::Cmp(f, _, _)
            | Filter::Like(f, _, _)
            | Filter::In(f, _, _)
            | Filter::IsNull(f) => {
                if !v.contains(&f.as_str()) {
                    v.push(f)
                }
            }
        }
    }

    /// The first field of the filter that `def` lacks.
    pub fn missing_field<'a>(&'a self, def: &TableDef) -> Option<&'a str> {
        self.fields().into_iter().find(|f| def.field(f).is_none())
    }

    /// Does row `i` of `rows` (columns in `def` order) pass? Fields must exist (see
    /// [`Filter::missing_field`]); a missing one makes the comparison false.
    pub fn matches(&self, def: &TableDef, rows: &Rows, i: usize) -> bool {
        let cell = |f: &str| -> Option<Cell<'_>> {
            def.field_index(f)
                .and_then(|j| rows.columns.get(j))
                .map(|c| c.cell(i))
        };
        match self {
            Filter::And(a, b) => a.matches(def, rows, i) && b.matches(def, rows, i),
            Filter::Or(a, b) => a.matches(def, rows, i) || b.matches(def, rows, i),
            Filter::Not(a) => !a.matches(def, rows, i),
            Filter::IsNull(f) => cell(f).is_none_or(|c| c.is_null()),
            Filter::Cmp(f, op, v) => cell(f).is_some_and(|c| compare(c, *op, v)),
            Filter::Like(f, p, neg) => {
                cell(f).is_some_and(|c| c.as_text().is_some_and(|t| like(&t, p) != *neg))
            }
            Filter::In(f, vs, neg) => cell(f)
                .is_some_and(|c| !c.is_null() && vs.iter().any(|v| compare(c, Op::Eq, v)) != *neg),
        }
    }
}

fn compare(c: Cell<'_>, op: Op, v: &Value) -> bool {
    let ord = match (c, v) {
        (Cell::Null, _) => return false,
        (Cell::Int(_) | Cell::Real(_), Value::Number(n, _)) => {
            c.as_f64().and_then(|x| x.partial_cmp(n))
        }
        (Cell::Int(_) | Cell::Real(_), Value::Text(t)) => match t.trim().parse::<f64>() {
            Ok(n) => c.as_f64().and_then(|x| x.partial_cmp(&n)),
            Err(_) => return false,
        },
        (Cell::Text(s), v) => Some(s.cmp(v.text())),
    };
    let Some(o) = ord else { return false };
    use std::cmp::Ordering::*;
    match op {
        Op::Eq => o == Equal,
        Op::Ne => o != Equal,
        Op::Lt => o == Less,
        Op::Le => o != Greater,
        Op::Gt => o == Greater,
        Op::Ge => o != Less,
    }
}

/// SQL LIKE: `%` any run, `_` one character; case-sensitive (codes are upper-case).
pub fn like(s: &str, p: &str) -> bool {
    let s: Vec<char> = s.chars().collect();
    let p: Vec<char> = p.chars().collect();
    // iterative wildcard match with backtracking on the last %
    let (mut i, mut j) = (0, 0);
    let (mut star, mut mark) = (None, 0);
    while i < s.len() {
        if j < p.len() && (p[j] == '_' || p[j] == s[i]) {
            i += 1;
            j += 1;
        } else if j < p.len() && p[j] == '%' {
            star = Some(j);
            mark = i;
            j += 1;
        } else if let Some(st) = star {
            j = st + 1;
            mark += 1;
            i = mark;
        } else {
            return false;
        }
    }
    while j < p.len() && p[j] == '%' {
        j += 1;
    }
    j == p.len()
}

/// Rows of `rows` passing `filter` (all when `None`).
pub fn select(def: &TableDef, rows: &Rows, filter: Option<&Filter>) -> Vec<usize> {
    (0..rows.len())
        .filter(|&i| filter.is_none_or(|f| f.matches(def, rows, i)))
        .collect()
}

/// Text of a column cell, for callers that need it.
pub fn cell_text(c: &Column, i: usize) -> Option<String> {
    c.cell(i).as_text().map(|t| t.into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use cadastra_model::registry;

    fn rows() -> (&'static TableDef, Rows) {
        let def = registry().table("ZDJBXX").unwrap();
        let mut r = Rows::new(def);
        let zl = def.field_index("ZL").unwrap();
        let qllx = def.field_index("QLLX").unwrap();
        let zdmj = def.field_index("ZDMJ").unwrap();
        let vals = [
            (Some("莱芜区凤城街道"), Some("6"), Some(120.5)),
            (Some("钢城区艾山街道"), Some("4"), Some(300.0)),
            (None, Some("6"), None),
            (Some("O'Brien 路"), None, Some(80.0)),
        ];
        for (j, c) in r.columns.iter_mut().enumerate() {
            for v in &vals {
                match c {
                    Column::Text(t) => t.push(if j == zl {
                        v.0
                    } else if j == qllx {
                        v.1
                    } else {
                        None
                    }),
                    Column::Real(x) => x.push(if j == zdmj { v.2 } else { None }),
                    Column::Int(x) => x.push(None),
                }
            }
        }
        (def, r)
    }

    fn sel(expr: &str) -> Vec<usize> {
        let (def, r) = rows();
        let f = Filter::parse(expr).unwrap();
        assert_eq!(f.missing_field(def), None);
        select(def, &r, Some(&f))
    }

    #[test]
    fn comparisons_like_in_null() {
        assert_eq!(sel("QLLX = '6'"), vec![0, 2]);
        assert_eq!(sel("QLLX = 6"), vec![0, 2]);
        assert_eq!(sel("ZL LIKE '%莱芜%'"), vec![0]);
        assert_eq!(sel("ZL NOT LIKE '%莱芜%'"), vec![1, 3]);
        assert_eq!(sel("ZDMJ >= 120.5"), vec![0, 1]);
        assert_eq!(sel("ZDMJ < 100 OR ZDMJ IS NULL"), vec![2, 3]);
        assert_eq!(sel("QLLX IN ('4', '5')"), vec![1]);
        assert_eq!(
            sel("QLLX IS NOT NULL AND NOT (ZL LIKE '钢城%')"),
            vec![0, 2]
        );
        assert_eq!(sel("ZL = 'O''Brien 路'"), vec![3]);
        assert_eq!(sel("\"QLLX\" <> '6'"), vec![1]);
    }

    #[test]
    fn refuses_what_is_not_a_filter() {
        for bad in [
            "",
            "ZDDM",
            "ZDDM =",
            "ZDDM = 'x'; DROP TABLE ZDJBXX",
            "ZDDM = 'x' --",
            "ZDDM = x",
            "1 = 1",
            "ZL LIKE 5",
            "ZDDM = 'unterminated",
            "(ZDDM = '1'",
            "ZDDM IN ()",
        ] {
            assert!(Filter::parse(bad).is_err(), "{bad:?} should be refused");
        }
        let def = registry().table("ZDJBXX").unwrap();
        let f = Filter::parse("NOPE = '1'").unwrap();
        assert_eq!(f.missing_field(def), Some("NOPE"));
    }

    #[test]
    fn like_patterns() {
        assert!(like("370116001", "3701%"));
        assert!(like("370116001", "%001"));
        assert!(like("abc", "a_c"));
        assert!(!like("abc", "a_"));
        assert!(like("", "%"));
        assert!(like("a%b", "a%b"));
        assert!(!like("xyz", "x%a"));
    }
}
