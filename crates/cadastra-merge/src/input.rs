//! What the merge looks at: layers of registry rows, incoming (this run's mapped records) or
//! already in the registry, and the records in them.

use cadastra_model::{Cell, Column, Rows, TableDef};

/// Where a layer's rows come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    /// mapped from this run's sources, not yet written
    Incoming,
    /// already in the registry
    Registry,
}

/// One table's rows from one place: an incoming source's mapped target, or a registry table.
#[derive(Debug, Clone, Copy)]
pub struct Layer<'a> {
    pub origin: Origin,
    /// the incoming source's name (`laiwu_zd`), or `registry`
    pub source: &'a str,
    pub def: &'a TableDef,
    pub rows: &'a Rows,
    /// registry fids, one per row (registry layers; empty for incoming ones)
    pub fids: &'a [i64],
}

/// A record: layer index and row within the layer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RecordRef {
    pub layer: u32,
    pub row: u32,
}

impl RecordRef {
    pub fn new(layer: usize, row: usize) -> RecordRef {
        RecordRef {
            layer: layer as u32,
            row: row as u32,
        }
    }
}

#[derive(Debug, Clone, Copy, Default)]
struct Prov {
    system: Option<usize>,
    key: Option<usize>,
    batch: Option<usize>,
}

/// Read access to the records of all layers, with their provenance.
pub struct Records<'a> {
    pub layers: &'a [Layer<'a>],
    prov: Vec<Prov>,
    /// identities of registry rows, to know which incoming records are re-deliveries
    in_registry: std::collections::HashSet<String>,
}

impl<'a> Records<'a> {
    pub fn new(layers: &'a [Layer<'a>]) -> Records<'a> {
        let prov = layers
            .iter()
            .map(|l| Prov {
                system: l.def.field_index("src_system"),
                key: l.def.field_index("src_key"),
                batch: l.def.field_index("batch_id"),
            })
            .collect();
        let mut rec = Records {
            layers,
            prov,
            in_registry: Default::default(),
        };
        let mut ids = std::collections::HashSet::new();
        for (li, l) in layers.iter().enumerate() {
            if l.origin == Origin::Registry {
                for r in 0..l.rows.len() {
                    ids.insert(rec.identity(RecordRef::new(li, r)));
                }
            }
        }
        rec.in_registry = ids;
        rec
    }

    /// An incoming record already loaded by an earlier run (same table, system and legacy key).
    pub fn has_own_version(&self, r: RecordRef) -> bool {
        self.is_incoming(r) && self.in_registry.contains(&self.identity(r))
    }

    pub fn layer(&self, r: RecordRef) -> &Layer<'a> {
        &self.layers[r.layer as usize]
    }

    /// Every record of every layer of `table`.
    pub fn of_table(&self, table: &str) -> Vec<RecordRef> {
        let mut out = Vec::new();
        for (li, l) in self.layers.iter().enumerate() {
            if l.def.name == table {
                out.extend((0..l.rows.len()).map(|r| RecordRef::new(li, r)));
            }
        }
        out
    }

    pub fn cell(&self, r: RecordRef, field: usize) -> Cell<'_> {
        let l = self.layer(r);
        l.rows
            .columns
            .get(field)
            .filter(|c| (r.row as usize) < c.len())
            .map_or(Cell::Null, |c| c.cell(r.row as usize))
    }

    /// A field's value as text (numbers formatted), by field name.
    pub fn text(&self, r: RecordRef, field: &str) -> Option<String> {
        let i = self.layer(r).def.field_index(field)?;
        self.text_at(r, i).map(|c| c.into_owned())
    }

    /// As [`Records::text`], by field number, borrowed from the column when it holds text: trimmed,
    /// `None` when null or blank.
    pub fn text_at(&self, r: RecordRef, field: usize) -> Option<std::borrow::Cow<'_, str>> {
        use std::borrow::Cow;
        let v = match self.cell(r, field) {
            Cell::Null => return None,
            Cell::Text(t) => Cow::Borrowed(t.trim()),
            Cell::Int(i) => Cow::Owned(i.to_string()),
            Cell::Real(x) => Cow::Owned(cadastra_model::table::format_real(x)),
        };
        (!v.is_empty()).then_some(v)
    }

    /// A text field borrowed (None for non-text columns and nulls).
    pub fn str(&self, r: RecordRef, field: usize) -> Option<&str> {
        match self.layer(r).rows.columns.get(field)? {
            Column::Text(c) => c.get(r.row as usize),
            _ => None,
        }
    }

    pub fn real(&self, r: RecordRef, field: &str) -> Option<f64> {
        let i = self.layer(r).def.field_index(field)?;
        self.cell(r, i).as_f64().filter(|x| x.is_finite())
    }

    pub fn geom(&self, r: RecordRef) -> Option<&cadastra_model::Geom> {
        self.layer(r)
            .rows
            .geoms
            .get(r.row as usize)
            .and_then(|g| g.as_ref())
    }

    pub fn origin(&self, r: RecordRef) -> Origin {
        self.layer(r).origin
    }

    pub fn is_incoming(&self, r: RecordRef) -> bool {
        self.origin(r) == Origin::Incoming
    }

    pub fn fid(&self, r: RecordRef) -> Option<i64> {
        self.layer(r).fids.get(r.row as usize).copied()
    }

    fn prov_str(&self, r: RecordRef, i: Option<usize>) -> Option<&str> {
        i.and_then(|i| self.str(r, i)).filter(|s| !s.is_empty())
    }

    /// The source system of a record (`src_system`), `registry` when a registry row has none.
    pub fn system(&self, r: RecordRef) -> &str {
        self.prov_str(r, self.prov[r.layer as usize].system)
            .unwrap_or("registry")
    }

    pub fn src_key(&self, r: RecordRef) -> Option<&str> {
        self.prov_str(r, self.prov[r.layer as usize].key)
    }

    pub fn batch(&self, r: RecordRef) -> &str {
        self.prov_str(r, self.prov[r.layer as usize].batch)
            .unwrap_or("")
    }

    /// The business key (unit number, parcel code, business number) of a record.
    pub fn business_key(&self, r: RecordRef) -> Option<String> {
        let k = self.layer(r).def.key.as_deref()?;
        self.text(r, k)
    }

    /// A name for the record that stays the same from run to run: `system/src_key`, or the fid
    /// for registry rows without provenance.
    pub fn identity(&self, r: RecordRef) -> String {
        let table = &self.layer(r).def.name;
        match (
            self.prov_str(r, self.prov[r.layer as usize].system),
            self.src_key(r),
        ) {
            (Some(s), Some(k)) => format!("{table}:{s}/{k}"),
            _ => format!(
                "{table}:registry/fid {}",
                self.fid(r).map_or("?".to_string(), |f| f.to_string())
            ),
        }
    }

    /// How a conflict names the side of a record: `registry` for registry rows, else the system.
    pub fn label(&self, r: RecordRef) -> String {
        match self.origin(r) {
            Origin::Registry => "registry".to_string(),
            Origin::Incoming => self.system(r).to_string(),
        }
    }

    /// Pairs the merge does not judge: two registry rows (not this run's business), a record
    /// and its own earlier version (same system and legacy key: the idempotency path), two
    /// records of the same delivery (same system and batch: the validation rules' business),
    /// and a same-system pair where one record was loaded before (judged when it first came).
    pub fn excluded(&self, a: RecordRef, b: RecordRef) -> bool {
        if a == b {
            return true;
        }
        let (ia, ib) = (self.is_incoming(a), self.is_incoming(b));
        if !ia && !ib {
            return true;
        }
        let (sa, sb) = (self.system(a), self.system(b));
        if sa == sb && self.src_key(a).is_some() && self.src_key(a) == self.src_key(b) {
            return true;
        }
        if sa != sb {
            return false;
        }
        // the same system: only a new batch re-using a business key under another legacy key
        self.batch(a) == self.batch(b) || self.has_own_version(a) || self.has_own_version(b)
    }
}

/// First six characters (the county code) of a code, when they are digits.
pub fn county(code: &str) -> Option<&str> {
    let c = code.get(..6)?;
    c.bytes().all(|b| b.is_ascii_digit()).then_some(c)
}
