//! Deciding the text encoding of a file and transcoding it to UTF-8.
//!
//! Order of evidence: byte-order mark, then the encoding the operator declared, then a UTF-16
//! shape test (many NUL bytes in alternate positions), then "is it valid UTF-8", then
//! chardetng on the first 256 KiB. With `chinese`, only GBK (read as GB18030, its superset), GB18030
//! and Big5 are accepted from the detector; any other guess is replaced by whichever of GBK and
//! Big5 decodes the sample with fewer malformed sequences (GBK on a tie), and a Big5 guess on
//! fewer than 32 Chinese characters yields to GBK unless GBK decodes worse. Also with `chinese`,
//! valid UTF-8 whose only non-ASCII characters are from U+0250..U+07FF (never Chinese nor
//! Latin) and that GBK reads as clean Chinese is GBK: a few GBK characters can be valid UTF-8
//! by accident. Each step that decided or was overruled leaves a line of
//! evidence for the run report (FMT-02).
//!
//! ```
//! use cadastra_tables::encoding::{decide_encoding, decode};
//! let gbk = encoding_rs::GBK.encode("权利人,张三\n").0.into_owned();
//! let d = decide_encoding(&gbk, None, true).unwrap();
//! assert_eq!(d.encoding.name(), "GBK");
//! let (text, report) = decode(gbk, &d);
//! assert_eq!(text, "权利人,张三\n");
//! assert_eq!(report.malformed, 0);
//! ```

use chardetng::{EncodingDetector, Iso2022JpDetection, Utf8Detection};
use encoding_rs::{Encoding, BIG5, GB18030, GBK, UTF_16BE, UTF_16LE, UTF_8};

/// How many leading bytes chardetng sees: enough for thousands of Chinese names (chardetng
/// runs at a few MB/s, so a 1 MiB sample would cost a quarter of a second).
pub const SAMPLE_BYTES: usize = 1 << 18;

/// The encoding chosen for a file and why.
#[derive(Debug, Clone)]
pub struct EncodingDecision {
    pub encoding: &'static Encoding,
    /// length of the byte-order mark to skip (0 if none)
    pub bom_len: usize,
    /// one line per piece of evidence, in the order it was weighed
    pub evidence: Vec<String>,
}

/// What transcoding found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DecodeReport {
    /// byte sequences that are not valid in the chosen encoding (each became U+FFFD)
    pub malformed: usize,
    /// 1-based line of the first one
    pub first_malformed_line: Option<u64>,
}

/// An encoding for a label: the WHATWG labels of encoding_rs (`gbk`, `gb2312`, `utf-8`,
/// `big5`, `utf-16le`, ...) plus the Windows code-page names seen in GIS software
/// (`cp936`, `936`, `cp950`, `cp65001`, `utf16`).
pub fn encoding_for_label(label: &str) -> Option<&'static Encoding> {
    let l = label.trim().to_ascii_lowercase();
    let alias = match l.as_str() {
        "cp936" | "ms936" | "windows-936" | "936" | "gb2312-80" => Some(GBK),
        "cp54936" | "54936" => Some(GB18030),
        "cp950" | "ms950" | "windows-950" | "950" => Some(BIG5),
        "cp65001" | "65001" | "utf8" => Some(UTF_8),
        "utf16" | "utf-16" | "ucs-2" | "cp1200" | "1200" => Some(UTF_16LE),
        "utf16be" | "cp1201" | "1201" => Some(UTF_16BE),
        _ => None,
    };
    alias.or_else(|| Encoding::for_label(l.as_bytes()))
}

/// Decide the encoding of `bytes`. Fails only on an unknown `declared` label (returned as the
/// error value).
pub fn decide_encoding(
    bytes: &[u8],
    declared: Option<&str>,
    chinese: bool,
) -> Result<EncodingDecision, String> {
    let mut evidence = Vec::new();
    let declared_enc = match declared {
        Some(label) => Some(encoding_for_label(label).ok_or_else(|| label.to_string())?),
        None => None,
    };
    if let Some((enc, bom_len)) = Encoding::for_bom(bytes) {
        evidence.push(format!(
            "byte-order mark {}: {}",
            hex_bytes(&bytes[..bom_len]),
            enc.name()
        ));
        if let Some(d) = declared_enc.filter(|d| *d != enc) {
            evidence.push(format!(
                "declared {} overruled by the byte-order mark",
                d.name()
            ));
        }
        return Ok(EncodingDecision {
            encoding: enc,
            bom_len,
            evidence,
        });
    }
    if let (Some(enc), Some(label)) = (declared_enc, declared) {
        evidence.push(format!("declared {label:?}: {}", enc.name()));
        return Ok(EncodingDecision {
            encoding: enc,
            bom_len: 0,
            evidence,
        });
    }
    let sample = &bytes[..bytes.len().min(SAMPLE_BYTES)];
    if let Some(enc) = utf16_shape(sample) {
        evidence.push(format!(
            "no byte-order mark; NUL bytes in alternate positions of the first {} bytes: {}",
            sample.len(),
            enc.name()
        ));
        return Ok(EncodingDecision {
            encoding: enc,
            bom_len: 0,
            evidence,
        });
    }
    match std::str::from_utf8(bytes) {
        Ok(s) if s.is_ascii() => {
            evidence.push(format!(
                "no byte-order mark; all {} bytes are ASCII: UTF-8",
                bytes.len()
            ));
            return Ok(EncodingDecision {
                encoding: UTF_8,
                bom_len: 0,
                evidence,
            });
        }
        Ok(text) => {
            // A little GBK can be valid UTF-8 by accident (芜 is DC BF, Syriac U+073F in UTF-8):
            // GBK pairs with a C2..DF lead and an 80..BF trail. For Chinese data, UTF-8 whose
            // non-ASCII characters are all from U+0250..U+07FF (IPA, Greek, Cyrillic, Hebrew,
            // Arabic, Syriac: never Latin letters, never Chinese) and that GBK reads as clean
            // Chinese is GBK.
            let sample_text = &text[..floor_char_boundary(text, SAMPLE_BYTES)];
            let accidental = sample_text
                .chars()
                .filter(|c| !c.is_ascii())
                .all(|c| ('\u{0250}'..='\u{07FF}').contains(&c));
            if chinese && accidental {
                let sample = &bytes[..sample_text.len()];
                let (gbk_text, bad) = GBK.decode_without_bom_handling(sample);
                let (gbk_cjk, gbk_non_ascii) = cjk_share(&gbk_text);
                if !bad && gbk_cjk * 2 >= gbk_non_ascii {
                    evidence.push(format!(
                        "no byte-order mark; valid UTF-8, but its non-ASCII characters are none \
                         Chinese or Latin, while GBK reads {gbk_cjk} of {gbk_non_ascii} as Chinese: GBK"
                    ));
                    return Ok(EncodingDecision {
                        encoding: GBK,
                        bom_len: 0,
                        evidence,
                    });
                }
            }
            evidence.push(format!(
                "no byte-order mark; all {} bytes are valid UTF-8 with non-ASCII text: UTF-8",
                bytes.len()
            ));
            return Ok(EncodingDecision {
                encoding: UTF_8,
                bom_len: 0,
                evidence,
            });
        }
        Err(e) => {
            let at = e.valid_up_to();
            let line = bytes[..at].iter().filter(|&&b| b == b'\n').count() + 1;
            evidence.push(format!(
                "no byte-order mark; not UTF-8 (invalid byte {:02X} at offset {at}, line {line})",
                bytes[at]
            ));
        }
    }
    // cut the sample at a line end so that no multi-byte character is split (0x0A is never a
    // trail byte in GBK, Big5 or Shift_JIS)
    let cut = if sample.len() < bytes.len() {
        memchr::memrchr(b'\n', sample).map_or(sample.len(), |i| i + 1)
    } else {
        sample.len()
    };
    let sample = &sample[..cut];
    let mut det = EncodingDetector::new(Iso2022JpDetection::Deny);
    det.feed(sample, cut == bytes.len());
    // no TLD hint: with `cn` chardetng answers GBK even for Big5 text; without one it tells
    // GBK and Big5 apart and the Chinese restriction is applied below
    let guess = det.guess(None, Utf8Detection::Deny);
    evidence.push(format!(
        "chardetng on the first {} bytes: {}",
        sample.len(),
        guess.name()
    ));
    if !chinese || guess == GBK || guess == GB18030 {
        return Ok(EncodingDecision {
            encoding: guess,
            bom_len: 0,
            evidence,
        });
    }
    let gbk_bad = malformed_count(GBK, sample);
    let big5_bad = malformed_count(BIG5, sample);
    let non_ascii = sample.iter().filter(|b| !b.is_ascii()).count();
    let enc = if guess == BIG5 {
        // chardetng tells GBK from Big5 on a few dozen characters; on less, or when Big5 does
        // not decode cleaner, the Laiwu prior (GBK) wins
        if big5_bad < gbk_bad || (big5_bad == gbk_bad && non_ascii >= BIG5_MIN_BYTES) {
            BIG5
        } else {
            GBK
        }
    } else if big5_bad < gbk_bad {
        BIG5
    } else {
        GBK
    };
    if enc != guess {
        evidence.push(format!(
            "Chinese data: malformed sequences in the sample GBK {gbk_bad}, Big5 {big5_bad}, \
             {non_ascii} non-ASCII bytes: {}",
            enc.name()
        ));
    }
    Ok(EncodingDecision {
        encoding: enc,
        bom_len: 0,
        evidence,
    })
}

/// Non-ASCII bytes below which a Big5 guess is not trusted over GBK (32 Chinese characters).
const BIG5_MIN_BYTES: usize = 64;

/// (Chinese characters, non-ASCII characters) of a text. CJK ideographs, CJK punctuation and
/// full-width forms count as Chinese.
fn cjk_share(text: &str) -> (usize, usize) {
    let mut cjk = 0;
    let mut non_ascii = 0;
    for c in text.chars().filter(|c| !c.is_ascii()) {
        non_ascii += 1;
        if matches!(c, '\u{3000}'..='\u{303F}' | '\u{3400}'..='\u{9FFF}' | '\u{FF00}'..='\u{FFEF}')
        {
            cjk += 1;
        }
    }
    (cjk, non_ascii)
}

fn floor_char_boundary(s: &str, mut i: usize) -> usize {
    if i >= s.len() {
        return s.len();
    }
    while !s.is_char_boundary(i) {
        i -= 1;
    }
    i
}

/// Transcode to UTF-8 (skipping the BOM). Malformed sequences become U+FFFD and are counted.
/// Valid UTF-8 input is not copied.
pub fn decode(bytes: Vec<u8>, decision: &EncodingDecision) -> (String, DecodeReport) {
    let enc = decision.encoding;
    if enc == UTF_8 {
        let body = if decision.bom_len > 0 {
            bytes[decision.bom_len..].to_vec()
        } else {
            bytes
        };
        return match String::from_utf8(body) {
            Ok(s) => (s, DecodeReport::default()),
            Err(e) => {
                let s = String::from_utf8_lossy(e.as_bytes()).into_owned();
                let report = report_replacements(&s);
                (s, report)
            }
        };
    }
    let (text, had_errors) = enc.decode_without_bom_handling(&bytes[decision.bom_len..]);
    let text = text.into_owned();
    let report = if had_errors {
        report_replacements(&text)
    } else {
        DecodeReport::default()
    };
    (text, report)
}

fn report_replacements(s: &str) -> DecodeReport {
    let malformed = s.chars().filter(|&c| c == '\u{FFFD}').count();
    let first_malformed_line = s
        .find('\u{FFFD}')
        .map(|at| s.as_bytes()[..at].iter().filter(|&&b| b == b'\n').count() as u64 + 1);
    DecodeReport {
        malformed,
        first_malformed_line,
    }
}

fn malformed_count(enc: &'static Encoding, sample: &[u8]) -> usize {
    let (text, had_errors) = enc.decode_without_bom_handling(sample);
    if had_errors {
        text.chars().filter(|&c| c == '\u{FFFD}').count()
    } else {
        0
    }
}

/// UTF-16 without BOM: ASCII-heavy text has a NUL in every other byte.
fn utf16_shape(sample: &[u8]) -> Option<&'static Encoding> {
    let pairs = sample.len() / 2;
    if pairs < 4 {
        return None;
    }
    let (mut even, mut odd) = (0usize, 0usize);
    for p in sample.chunks_exact(2) {
        even += usize::from(p[0] == 0);
        odd += usize::from(p[1] == 0);
    }
    let many = pairs * 2 / 5; // 40 %
    let few = pairs / 20; // 5 %
    if odd >= many && even <= few {
        Some(UTF_16LE)
    } else if even >= many && odd <= few {
        Some(UTF_16BE)
    } else {
        None
    }
}

fn hex_bytes(b: &[u8]) -> String {
    b.iter()
        .map(|x| format!("{x:02X}"))
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decided(bytes: &[u8], declared: Option<&str>, chinese: bool) -> &'static str {
        decide_encoding(bytes, declared, chinese)
            .unwrap()
            .encoding
            .name()
    }

    const NAMES: &str = "权利人名称,证件号,坐落\n张三,370102198001011234,莱芜区凤城街道办事处\n\
        李四,370102198001015678,钢城区艾山街道\n王五,370102198001013456,莱芜区口镇\n";

    #[test]
    fn bom_wins_over_declaration() {
        let mut b = vec![0xEF, 0xBB, 0xBF];
        b.extend_from_slice(NAMES.as_bytes());
        let d = decide_encoding(&b, Some("gbk"), true).unwrap();
        assert_eq!(d.encoding, UTF_8);
        assert_eq!(d.bom_len, 3);
        assert!(d.evidence[1].contains("overruled"), "{:?}", d.evidence);
        let (text, rep) = decode(b, &d);
        assert_eq!(text, NAMES);
        assert_eq!(rep.malformed, 0);
    }

    #[test]
    fn utf16_with_and_without_bom() {
        let mut le = vec![0xFF, 0xFE];
        for u in "ZDDM,QLRMC\n0702,张三\n".encode_utf16() {
            le.extend_from_slice(&u.to_le_bytes());
        }
        let d = decide_encoding(&le, None, false).unwrap();
        assert_eq!((d.encoding, d.bom_len), (UTF_16LE, 2));
        assert_eq!(decode(le.clone(), &d).0, "ZDDM,QLRMC\n0702,张三\n");
        let d = decide_encoding(&le[2..], None, false).unwrap();
        assert_eq!(d.encoding, UTF_16LE);
        let be: Vec<u8> = "ZDDM,QLRMC\n0702\n"
            .encode_utf16()
            .flat_map(u16::to_be_bytes)
            .collect();
        assert_eq!(decided(&be, None, false), "UTF-16BE");
    }

    #[test]
    fn declared_labels_include_code_pages() {
        let gbk = GBK.encode(NAMES).0.into_owned();
        for l in ["gbk", "GB2312", "cp936", "936", " CP936 "] {
            assert_eq!(decided(&gbk, Some(l), false), "GBK", "{l}");
        }
        assert_eq!(decided(b"a", Some("cp950"), false), "Big5");
        assert_eq!(
            decide_encoding(b"a", Some("klingon"), false).unwrap_err(),
            "klingon"
        );
    }

    #[test]
    fn undeclared_gbk_big5_and_utf8() {
        assert_eq!(decided(b"ZDDM,YT\n370116,0702\n", None, true), "UTF-8");
        assert_eq!(decided(NAMES.as_bytes(), None, true), "UTF-8");
        let gbk = GBK.encode(NAMES).0.into_owned();
        assert_eq!(decided(&gbk, None, true), "GBK");
        assert_eq!(decided(&gbk, None, false), "GBK");
        let big5 = BIG5
            .encode("權利人名稱,坐落\n張三,萊蕪區鳳城街道\n李四,鋼城區艾山街道\n王五,萊蕪區口鎮\n趙六,鋼城區里辛街道\n")
            .0
            .into_owned();
        assert_eq!(decided(&big5, None, true), "Big5");
        assert_eq!(
            decided(&big5[..20], None, true),
            "GBK",
            "too little text to trust Big5"
        );
    }

    #[test]
    fn chinese_hint_rejects_non_chinese_guesses() {
        // two GBK names only: too little text, chardetng may pick a single-byte encoding;
        // with the hint the answer must be a Chinese encoding that decodes it cleanly
        let gbk = GBK.encode("张三\n").0.into_owned();
        let d = decide_encoding(&gbk, None, true).unwrap();
        assert!(
            ["GBK", "gb18030"].contains(&d.encoding.name()),
            "{:?}",
            d.evidence
        );
        assert_eq!(decode(gbk, &d).0, "张三\n");
    }

    #[test]
    fn tiny_gbk_samples_stay_gbk() {
        // 芜 in GBK is DC BF, valid UTF-8 (U+073F); 三 alone makes chardetng answer Big5
        for s in ["a,芜\n", "芜", "a三", "x,三,芜区\n", "张三", "\u{3000}芜"] {
            let gbk = GBK.encode(s).0.into_owned();
            let d = decide_encoding(&gbk, None, true).unwrap();
            assert_eq!(decode(gbk, &d).0, s, "{s:?}: {:?}", d.evidence);
        }
        // real UTF-8 Chinese stays UTF-8; so does UTF-8 without Chinese when not asked
        assert_eq!(decided("芜湖".as_bytes(), None, true), "UTF-8");
        assert_eq!(decided("\u{073F}".as_bytes(), None, false), "UTF-8");
        assert_eq!(decided("Zürich,Genève".as_bytes(), None, true), "UTF-8");
    }

    #[test]
    fn malformed_bytes_are_counted_with_their_line() {
        let mut b = GBK.encode("a,b\n张三,1\n").0.into_owned();
        b.extend_from_slice(b"x,\xFF\n");
        let d = decide_encoding(&b, Some("gbk"), true).unwrap();
        let (text, rep) = decode(b, &d);
        assert!(text.starts_with("a,b\n张三,1\n"));
        assert_eq!(
            rep,
            DecodeReport {
                malformed: 1,
                first_malformed_line: Some(3)
            }
        );
        // declared UTF-8 on invalid bytes: lossy, counted
        let d = decide_encoding(b"ok\n\xC3\n", Some("utf-8"), false).unwrap();
        assert_eq!(
            decode(b"ok\n\xC3\n".to_vec(), &d).1.first_malformed_line,
            Some(2)
        );
    }

    #[test]
    fn invalid_utf8_evidence_names_the_line() {
        let gbk = GBK.encode("ZDDM\n1\n张三\n").0.into_owned();
        let d = decide_encoding(&gbk, None, true).unwrap();
        assert!(
            d.evidence.iter().any(|e| e.contains("line 3")),
            "{:?}",
            d.evidence
        );
    }
}
