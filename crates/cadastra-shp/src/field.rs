//! DBF field descriptors, shared by the reader and the writer.

/// The type letter of a DBF field.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FieldKind {
    /// `C`: text in the file's encoding, left-aligned, space-padded.
    Char,
    /// `N`: a number written as right-aligned ASCII text.
    Numeric,
    /// `F`: like `N` (dBASE IV float), also ASCII text.
    Float,
    /// `D`: a date as 8 ASCII digits `YYYYMMDD`.
    Date,
    /// `L`: one byte, `T`/`F` (also `Y`/`N`, `?` = null).
    Logical,
    /// Any other type letter (memo `M`, FoxPro binary types, ...): read as text.
    Other(u8),
}

impl FieldKind {
    /// The type letter stored in the field descriptor.
    pub fn as_byte(self) -> u8 {
        match self {
            FieldKind::Char => b'C',
            FieldKind::Numeric => b'N',
            FieldKind::Float => b'F',
            FieldKind::Date => b'D',
            FieldKind::Logical => b'L',
            FieldKind::Other(b) => b,
        }
    }
    /// The kind for a type letter (case-insensitive for the five standard letters).
    pub fn from_byte(b: u8) -> FieldKind {
        match b.to_ascii_uppercase() {
            b'C' => FieldKind::Char,
            b'N' => FieldKind::Numeric,
            b'F' => FieldKind::Float,
            b'D' => FieldKind::Date,
            b'L' => FieldKind::Logical,
            _ => FieldKind::Other(b),
        }
    }
    /// `N` or `F`.
    pub fn is_number(self) -> bool {
        matches!(self, FieldKind::Numeric | FieldKind::Float)
    }
}

/// One DBF column: name (at most 10 bytes in the file's encoding), type, width and decimals.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct DbfField {
    /// Name (decoded; at most 10 bytes in the file's encoding when written).
    pub name: String,
    /// Type letter.
    pub kind: FieldKind,
    /// Width in bytes (C fields may be wider than 255 in Clipper-style files).
    pub length: u16,
    /// Digits after the decimal point (N/F only).
    pub decimals: u8,
}

impl DbfField {
    /// A `C` field of `length` bytes.
    pub fn text(name: &str, length: u16) -> DbfField {
        DbfField {
            name: name.to_string(),
            kind: FieldKind::Char,
            length,
            decimals: 0,
        }
    }
    /// An `N` field of `length` characters with `decimals` after the point.
    pub fn number(name: &str, length: u16, decimals: u8) -> DbfField {
        DbfField {
            name: name.to_string(),
            kind: FieldKind::Numeric,
            length,
            decimals,
        }
    }
    /// A `D` field (always 8 wide).
    pub fn date(name: &str) -> DbfField {
        DbfField {
            name: name.to_string(),
            kind: FieldKind::Date,
            length: 8,
            decimals: 0,
        }
    }
    /// An `L` field (always 1 wide).
    pub fn logical(name: &str) -> DbfField {
        DbfField {
            name: name.to_string(),
            kind: FieldKind::Logical,
            length: 1,
            decimals: 0,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn type_letters_round_trip() {
        for k in [
            FieldKind::Char,
            FieldKind::Numeric,
            FieldKind::Float,
            FieldKind::Date,
            FieldKind::Logical,
            FieldKind::Other(b'M'),
        ] {
            assert_eq!(FieldKind::from_byte(k.as_byte()), k);
        }
        assert_eq!(FieldKind::from_byte(b'c'), FieldKind::Char);
    }
}
