//! Helpers shared by the fuzz targets.
//!
//! - [`split`]: the container the file-set targets read: one options byte, one byte saying which
//!   sections follow, then each present section as a little-endian `u16` length and its bytes
//!   (a length past the end takes what is left). `seeds.py` packs real files the same way.
//! - [`Scratch`]: a folder (on tmpfs when there is one) where a target writes the sections as
//!   files, because the readers take paths.
//! - [`dbf`]: build a well-formed DBF around arbitrary text, so the encoding target spends its
//!   time on the encoding decision instead of on header checks.

use std::path::{Path, PathBuf};

/// A file-set input: options and up to 8 sections.
pub struct Input<'a> {
    pub opts: u8,
    pub sections: [Option<&'a [u8]>; 8],
}

/// Split a fuzz input (see the crate docs).
pub fn split(data: &[u8]) -> Input<'_> {
    let mut inp = Input {
        opts: data.first().copied().unwrap_or(0),
        sections: [None; 8],
    };
    let present = data.get(1).copied().unwrap_or(0);
    let mut at = 2.min(data.len());
    for (i, s) in inp.sections.iter_mut().enumerate() {
        if present & (1 << i) == 0 {
            continue;
        }
        let len = match data.get(at..at + 2) {
            Some(b) => usize::from(u16::from_le_bytes([b[0], b[1]])),
            None => 0,
        };
        at = (at + 2).min(data.len());
        let end = (at + len).min(data.len());
        *s = Some(&data[at..end]);
        at = end;
    }
    inp
}

/// Pack sections the way [`split`] reads them (used by tests of the format).
pub fn pack(opts: u8, sections: &[Option<&[u8]>]) -> Vec<u8> {
    let mut present = 0u8;
    let mut body = Vec::new();
    for (i, s) in sections.iter().enumerate().take(8) {
        if let Some(s) = s {
            present |= 1 << i;
            let len = s.len().min(u16::MAX as usize);
            body.extend_from_slice(&(len as u16).to_le_bytes());
            body.extend_from_slice(&s[..len]);
        }
    }
    let mut out = vec![opts, present];
    out.extend(body);
    out
}

/// A per-process scratch folder, emptied before each input.
pub struct Scratch {
    dir: PathBuf,
}

impl Scratch {
    pub fn new(target: &str) -> Scratch {
        let base = if Path::new("/dev/shm").is_dir() {
            PathBuf::from("/dev/shm")
        } else {
            std::env::temp_dir()
        };
        let dir = base.join(format!("cadastra-fuzz-{target}-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("scratch folder");
        Scratch { dir }
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Remove what the last input wrote, then write `files` (name, bytes).
    pub fn write(&self, files: &[(&str, Option<&[u8]>)]) {
        if let Ok(rd) = std::fs::read_dir(&self.dir) {
            for e in rd.flatten() {
                let _ = std::fs::remove_file(e.path());
            }
        }
        for (name, bytes) in files {
            if let Some(b) = bytes {
                std::fs::write(self.dir.join(name), b).expect("write scratch file");
            }
        }
    }
}

/// A DBF with one text field per entry of `widths` (1..=254 bytes) holding `values` row by row
/// (each value cut or space-padded to its field), code-page byte `ldid`.
pub fn dbf(ldid: u8, names: &[&[u8]], widths: &[u8], rows: &[Vec<&[u8]>]) -> Vec<u8> {
    let nf = widths.len();
    let header_len = 32 + 32 * nf + 1;
    let record_len = 1 + widths.iter().map(|&w| usize::from(w)).sum::<usize>();
    let mut b = vec![0u8; 32];
    b[0] = 0x03;
    b[1] = 95;
    b[2] = 7;
    b[3] = 26;
    b[4..8].copy_from_slice(&(rows.len() as u32).to_le_bytes());
    b[8..10].copy_from_slice(&(header_len as u16).to_le_bytes());
    b[10..12].copy_from_slice(&(record_len as u16).to_le_bytes());
    b[29] = ldid;
    for (i, &w) in widths.iter().enumerate() {
        let mut d = [0u8; 32];
        let name = names.get(i).copied().unwrap_or(b"F");
        let n = name.len().min(10);
        d[..n].copy_from_slice(&name[..n]);
        d[11] = b'C';
        d[16] = w;
        b.extend_from_slice(&d);
    }
    b.push(0x0D);
    for row in rows {
        b.push(b' ');
        for (i, &w) in widths.iter().enumerate() {
            let v = row.get(i).copied().unwrap_or(b"");
            let w = usize::from(w);
            let n = v.len().min(w);
            b.extend_from_slice(&v[..n]);
            b.extend(std::iter::repeat_n(b' ', w - n));
        }
    }
    b.push(0x1A);
    b
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pack_then_split_gives_the_sections_back() {
        let a: &[u8] = b"shp bytes";
        let c: &[u8] = b"";
        let data = pack(7, &[Some(a), None, Some(c), Some(b"936")]);
        let inp = split(&data);
        assert_eq!(inp.opts, 7);
        assert_eq!(inp.sections[0], Some(a));
        assert_eq!(inp.sections[1], None);
        assert_eq!(inp.sections[2], Some(c));
        assert_eq!(inp.sections[3], Some(&b"936"[..]));
        assert_eq!(inp.sections[4], None);
    }
}
