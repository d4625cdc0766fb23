//! Which encoding a DBF's text is in, and why (rule FMT-02).
//!
//! Precedence, per file: caller override > `.cpg` > `.cst` > DBF code-page byte (LDID, offset
//! 29) > content evidence (all ASCII; valid UTF-8; otherwise a detector, optionally limited to
//! Chinese encodings). Every step that was looked at leaves a line in
//! [`EncodingDecision::evidence`], so a report can say why a file was read as GBK.
//!
//! [`TextEncoding`] wraps `encoding_rs` and adds the DOS/Mac single-byte code pages that
//! `encoding_rs` lacks (CP437 for LDID 27, CP850, CP852, ...).

use crate::dos_tables::TABLES;
use encoding_rs::{DecoderResult, Encoding};

/// A text encoding: one of `encoding_rs`, or a DOS/Mac code page `encoding_rs` does not carry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TextEncoding {
    /// An `encoding_rs` encoding.
    Std(&'static Encoding),
    /// A single-byte DOS/Mac code page by number (437, 850, 852, ..., 10029).
    CodePage(u16),
}

impl From<&'static Encoding> for TextEncoding {
    fn from(e: &'static Encoding) -> Self {
        TextEncoding::Std(e)
    }
}

impl PartialEq<&'static Encoding> for TextEncoding {
    fn eq(&self, other: &&'static Encoding) -> bool {
        matches!(self, TextEncoding::Std(e) if e == other)
    }
}

impl std::fmt::Display for TextEncoding {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

fn table(cp: u16) -> Option<&'static [char; 128]> {
    TABLES.iter().find(|(c, _)| *c == cp).map(|(_, t)| t)
}

impl TextEncoding {
    /// UTF-8.
    pub const UTF_8: TextEncoding = TextEncoding::Std(encoding_rs::UTF_8);
    /// GBK (decoding accepts all of GB18030, as `encoding_rs` does).
    pub const GBK: TextEncoding = TextEncoding::Std(encoding_rs::GBK);

    /// Canonical name (`encoding_rs` names, `IBM437` style for DOS code pages).
    pub fn name(&self) -> &'static str {
        match self {
            TextEncoding::Std(e) => e.name(),
            TextEncoding::CodePage(cp) => match cp {
                437 => "IBM437",
                720 => "IBM720",
                737 => "IBM737",
                775 => "IBM775",
                850 => "IBM850",
                852 => "IBM852",
                855 => "IBM855",
                857 => "IBM857",
                858 => "IBM858",
                860 => "IBM860",
                861 => "IBM861",
                862 => "IBM862",
                863 => "IBM863",
                865 => "IBM865",
                869 => "IBM869",
                10029 => "x-mac-ce",
                _ => "unknown-codepage",
            },
        }
    }

    /// The `encoding_rs` encoding, when it is one.
    pub fn as_encoding_rs(&self) -> Option<&'static Encoding> {
        match self {
            TextEncoding::Std(e) => Some(e),
            TextEncoding::CodePage(_) => None,
        }
    }

    /// Bytes below 0x80 mean ASCII (false for UTF-16).
    pub fn is_ascii_compatible(&self) -> bool {
        match self {
            TextEncoding::Std(e) => e.is_ascii_compatible(),
            TextEncoding::CodePage(_) => true,
        }
    }

    /// Decode `bytes` onto the end of `out`; false (with `out` unchanged) when the bytes are
    /// malformed in this encoding. No BOM handling, no replacement characters.
    pub fn decode_into(&self, bytes: &[u8], out: &mut String) -> bool {
        let start = out.len();
        let ok = match self {
            TextEncoding::Std(e) if *e == encoding_rs::UTF_8 => match std::str::from_utf8(bytes) {
                Ok(s) => {
                    out.push_str(s);
                    true
                }
                Err(_) => false,
            },
            TextEncoding::Std(e) => {
                let mut dec = e.new_decoder_without_bom_handling();
                match dec.max_utf8_buffer_length_without_replacement(bytes.len()) {
                    None => false,
                    Some(max) => {
                        out.reserve(max);
                        let (res, _) = dec.decode_to_string_without_replacement(bytes, out, true);
                        matches!(res, DecoderResult::InputEmpty)
                    }
                }
            }
            TextEncoding::CodePage(cp) => match table(*cp) {
                None => false,
                Some(t) => {
                    let mut ok = true;
                    for &b in bytes {
                        if b < 0x80 {
                            out.push(b as char);
                        } else {
                            let c = t[usize::from(b - 0x80)];
                            if c == '\u{FFFF}' {
                                ok = false;
                                break;
                            }
                            out.push(c);
                        }
                    }
                    ok
                }
            },
        };
        if !ok {
            out.truncate(start);
        }
        ok
    }

    /// Decode to a new string, `None` when malformed.
    pub fn decode(&self, bytes: &[u8]) -> Option<String> {
        let mut s = String::new();
        self.decode_into(bytes, &mut s).then_some(s)
    }

    /// The encoding of a Windows/DOS code page number (as found in .cpg files and the LDID
    /// table): 936 = GBK, 950 = Big5, 1250-1258, 437, 850, 65001 = UTF-8, ...
    pub fn from_codepage(cp: u32) -> Option<TextEncoding> {
        use encoding_rs::*;
        let e: &'static Encoding = match cp {
            936 => GBK,
            54936 => GB18030,
            950 => BIG5,
            932 => SHIFT_JIS,
            949 | 51949 => EUC_KR,
            20932 | 51932 => EUC_JP,
            874 => WINDOWS_874,
            866 => IBM866,
            1250 => WINDOWS_1250,
            1251 => WINDOWS_1251,
            1252 => WINDOWS_1252,
            1253 => WINDOWS_1253,
            1254 => WINDOWS_1254,
            1255 => WINDOWS_1255,
            1256 => WINDOWS_1256,
            1257 => WINDOWS_1257,
            1258 => WINDOWS_1258,
            10000 => MACINTOSH,
            10007 => X_MAC_CYRILLIC,
            20866 => KOI8_R,
            21866 => KOI8_U,
            28591 => WINDOWS_1252,
            28592 => ISO_8859_2,
            28593 => ISO_8859_3,
            28594 => ISO_8859_4,
            28595 => ISO_8859_5,
            28596 => ISO_8859_6,
            28597 => ISO_8859_7,
            28598 => ISO_8859_8,
            28599 => WINDOWS_1254,
            28603 => ISO_8859_13,
            28605 => ISO_8859_15,
            65001 => UTF_8,
            1200 => UTF_16LE,
            1201 => UTF_16BE,
            _ => {
                let cp = u16::try_from(cp).ok()?;
                return table(cp).map(|_| TextEncoding::CodePage(cp));
            }
        };
        Some(TextEncoding::Std(e))
    }

    /// The encoding a DBF language-driver byte declares, with the code-page name GDAL 3.6
    /// gives it (GDAL's table: 77 and 122 = CP936, 87 = ISO-8859-1, 88 = CP1252, 27 = CP437).
    /// `None` for 0 (undeclared), unknown bytes, and code pages no decoder here supports
    /// (895 Kamenický, 620 Mazovia).
    pub fn from_ldid(ldid: u8) -> Option<(TextEncoding, String)> {
        let cp: u32 = match ldid {
            1 | 11 | 13 | 15 | 17 | 21 | 24 | 25 | 27 => 437,
            2 | 10 | 14 | 16 | 18 | 20 | 22 | 26 | 29 | 37 | 55 => 850,
            3 | 88 | 89 => 1252,
            4 => 10000,
            8 | 23 | 102 => 865,
            19 | 123 => 932,
            28 | 108 => 863,
            31 | 34 | 35 | 64 | 100 | 135 => 852,
            36 => 860,
            38 | 101 => 866,
            77 | 122 => 936,
            78 | 121 => 949,
            79 | 120 => 950,
            80 | 124 => 874,
            87 => {
                return Some((
                    TextEncoding::Std(encoding_rs::WINDOWS_1252),
                    "ISO-8859-1".to_string(),
                ))
            }
            103 => 861,
            104 => 895,
            105 => 620,
            106 | 134 => 737,
            107 | 136 => 857,
            150 => 10007,
            151 => 10029,
            200 => 1250,
            201 => 1251,
            202 => 1254,
            203 => 1253,
            204 => 1257,
            _ => return None,
        };
        TextEncoding::from_codepage(cp).map(|e| (e, format!("CP{cp}")))
    }

    /// Parse the text of a .cpg (or .cst) file, accepting the spellings seen in the wild:
    /// `UTF-8`, `utf8`, `936`, `CP936`, `GBK`, `GB2312`, `GB18030`, `ANSI 1250`,
    /// `Windows-1251`, `Big-5`, `shiftjis`, `EUC-KR`, `koi8r`, `latin2`, `8859-1`, `1251`,
    /// `874`, `UTF-16`, ... Only the first line counts. `None` when the text is not a code page
    /// name (an HTML page, an empty file, an unknown name).
    pub fn from_cpg(text: &str) -> Option<TextEncoding> {
        let line = text.trim_start_matches('\u{FEFF}').lines().next()?.trim();
        if line.is_empty() || line.len() > 40 || !line.is_ascii() || line.contains('<') {
            return None;
        }
        let l = line.to_ascii_lowercase();
        // spellings without separators: "shift_jis", "shift-jis", "shiftjis" -> "shiftjis"
        let squashed: String = l.chars().filter(|c| c.is_ascii_alphanumeric()).collect();
        use encoding_rs::*;
        let named: Option<&'static Encoding> = match squashed.as_str() {
            "utf8" | "utf8bom" | "utf8withbom" | "unicodeutf8" => Some(UTF_8),
            "utf16" | "utf16le" | "unicode" | "ucs2" | "ucs2le" => Some(UTF_16LE),
            "utf16be" | "ucs2be" | "unicodefffe" => Some(UTF_16BE),
            "gbk" | "gb2312" | "gb231280" | "euccn" | "xgbk" | "cngb" | "chinese" | "csgb2312"
            | "ms936" | "gbk2k" => Some(GBK),
            "gb18030" => Some(GB18030),
            "big5" | "big5hkscs" | "cnbig5" | "xxbig5" | "csbig5" | "ms950" => Some(BIG5),
            "shiftjis" | "sjis" | "mskanji" | "ms932" | "windows31j" | "csshiftjis" | "xsjis" => {
                Some(SHIFT_JIS)
            }
            "eucjp" | "xeucjp" | "cseucpkdfmtjapanese" => Some(EUC_JP),
            "iso2022jp" => Some(ISO_2022_JP),
            "euckr" | "ksc56011987" | "ksc5601" | "korean" | "cseuckr" | "ms949" | "uhc" => {
                Some(EUC_KR)
            }
            "koi8r" | "koi8" | "cskoi8r" => Some(KOI8_R),
            "koi8u" | "koi8ru" => Some(KOI8_U),
            "latin1" | "l1" | "iso88591" | "88591" | "ascii" | "usascii" => Some(WINDOWS_1252),
            "latin2" | "l2" | "iso88592" | "88592" => Some(ISO_8859_2),
            "latin3" | "l3" | "iso88593" | "88593" => Some(ISO_8859_3),
            "latin4" | "l4" | "iso88594" | "88594" => Some(ISO_8859_4),
            "cyrillic" | "iso88595" | "88595" => Some(ISO_8859_5),
            "arabic" | "iso88596" | "88596" => Some(ISO_8859_6),
            "greek" | "iso88597" | "88597" => Some(ISO_8859_7),
            "hebrew" | "iso88598" | "88598" => Some(ISO_8859_8),
            "latin5" | "l5" | "iso88599" | "88599" => Some(WINDOWS_1254),
            "latin6" | "l6" | "iso885910" | "885910" => Some(ISO_8859_10),
            "iso885911" | "885911" | "tis620" => Some(WINDOWS_874),
            "latin7" | "l7" | "iso885913" | "885913" => Some(ISO_8859_13),
            "latin8" | "l8" | "iso885914" | "885914" => Some(ISO_8859_14),
            "latin9" | "l9" | "iso885915" | "885915" => Some(ISO_8859_15),
            "latin10" | "l10" | "iso885916" | "885916" => Some(ISO_8859_16),
            "macintosh" | "macroman" | "mac" => Some(MACINTOSH),
            _ => None,
        };
        if let Some(e) = named {
            return Some(TextEncoding::Std(e));
        }
        // numeric forms: "936", "CP936", "ANSI 1250", "OEM 850", "Windows-1251", "win1251",
        // "IBM437", "MS936", "x-cp1250"
        let digits_start = squashed.find(|c: char| c.is_ascii_digit())?;
        let (prefix, digits) = squashed.split_at(digits_start);
        if !digits.chars().all(|c| c.is_ascii_digit()) {
            return None;
        }
        let known_prefix = matches!(
            prefix,
            "" | "cp"
                | "ansi"
                | "oem"
                | "windows"
                | "win"
                | "ibm"
                | "ms"
                | "xcp"
                | "dos"
                | "codepage"
        );
        if !known_prefix {
            return None;
        }
        let cp: u32 = digits.parse().ok()?;
        TextEncoding::from_codepage(cp).or_else(|| {
            // a WHATWG label as the last resort ("x-mac-cyrillic" and friends)
            Encoding::for_label(line.as_bytes()).map(TextEncoding::Std)
        })
    }
}

/// Where the encoding decision came from, in precedence order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EncodingSource {
    /// The caller said so ([`crate::ReadOptions::encoding`]).
    Override,
    /// The .cpg file.
    Cpg,
    /// The .cst file (older ESRI alternative to .cpg).
    Cst,
    /// The DBF language-driver byte.
    Ldid,
    /// Content evidence: valid UTF-8, or the detector's guess.
    Detected,
    /// Nothing declared and nothing to decide on (all text ASCII): UTF-8.
    Default,
}

/// The encoding a DBF was decoded with, where that came from and the evidence seen.
#[derive(Debug, Clone, PartialEq)]
pub struct EncodingDecision {
    /// The encoding the text was decoded with.
    pub encoding: TextEncoding,
    /// Where the decision came from.
    pub source: EncodingSource,
    /// One line per thing looked at (".cpg says \"936\"", "LDID 0: undeclared", ...).
    pub evidence: Vec<String>,
    /// False when the decision is a guess or the content contradicts the declaration
    /// (values that do not decode, or undeclared non-UTF-8 text).
    pub confident: bool,
}

/// What the DBF content says about its encoding (computed by the DBF reader).
pub(crate) struct ContentEvidence {
    /// Text bytes (field names and C fields) are all ASCII.
    pub all_ascii: bool,
    /// Text bytes are valid UTF-8 (vacuously true when all ASCII).
    pub valid_utf8: bool,
    /// Records holding non-ASCII text.
    pub non_ascii_records: usize,
    /// First record (0-based) whose text is not valid UTF-8.
    pub first_invalid_utf8: Option<usize>,
}

/// Everything a decision may use.
pub(crate) struct DecisionInputs<'a> {
    pub override_encoding: Option<TextEncoding>,
    /// Text of the .cpg file, when present.
    pub cpg: Option<&'a str>,
    /// Text of the .cst file, when present.
    pub cst: Option<&'a str>,
    pub ldid: u8,
    pub content: &'a ContentEvidence,
    /// Caller says the text is Chinese: detection only picks GBK/GB18030/Big5.
    pub chinese: bool,
}

fn short(text: &str) -> String {
    let t: String = text.chars().take(40).collect();
    if text.chars().count() > 40 {
        format!("{t}…")
    } else {
        t
    }
}

/// Decide the encoding. `sample` yields non-ASCII text bytes for the detector; it is only
/// called when detection is needed. Warnings (unparseable .cpg, ...) go to `warnings`.
pub(crate) fn decide(
    inp: &DecisionInputs<'_>,
    sample: &mut dyn FnMut() -> Vec<u8>,
    warnings: &mut Vec<String>,
) -> EncodingDecision {
    let mut ev = Vec::new();
    let content = inp.content;
    let mut declared: Option<(TextEncoding, EncodingSource)> = None;

    if let Some(e) = inp.override_encoding {
        ev.push(format!("caller override: {}", e.name()));
        declared = Some((e, EncodingSource::Override));
    }
    for (text, what, source) in [
        (inp.cpg, ".cpg", EncodingSource::Cpg),
        (inp.cst, ".cst", EncodingSource::Cst),
    ] {
        let Some(text) = text else {
            ev.push(format!("no {what} file"));
            continue;
        };
        match TextEncoding::from_cpg(text) {
            Some(e) => {
                ev.push(format!(
                    "{what} says {:?} = {}",
                    short(text.trim()),
                    e.name()
                ));
                if declared.is_none() {
                    declared = Some((e, source));
                }
            }
            None => {
                let msg = format!(
                    "{what} content {:?} is not a code page name: ignored",
                    short(text.trim())
                );
                warnings.push(msg.clone());
                ev.push(msg);
            }
        }
    }
    match (inp.ldid, TextEncoding::from_ldid(inp.ldid)) {
        (0, _) => ev.push("LDID 0: undeclared".to_string()),
        (l, Some((e, gdal))) => {
            ev.push(format!("LDID {l} = {gdal} ({})", e.name()));
            if declared.is_none() {
                declared = Some((e, EncodingSource::Ldid));
            }
        }
        (l, None) => ev.push(format!("LDID {l}: not a code page this reader knows")),
    }

    if content.all_ascii {
        ev.push("content: all text is ASCII".to_string());
    } else if content.valid_utf8 {
        ev.push(format!(
            "content: {} records with non-ASCII text, all valid UTF-8",
            content.non_ascii_records
        ));
    } else if let Some(first) = content.first_invalid_utf8 {
        ev.push(format!(
            "content: {} records with non-ASCII text, not valid UTF-8 (first at record {first})",
            content.non_ascii_records
        ));
    } else {
        ev.push(format!(
            "content: field names are not valid UTF-8; {} records with non-ASCII text",
            content.non_ascii_records
        ));
    }

    if let Some((e, source)) = declared {
        let mut confident = true;
        if source != EncodingSource::Override
            && !content.all_ascii
            && content.valid_utf8
            && e != TextEncoding::UTF_8
            && e.is_ascii_compatible()
        {
            ev.push(format!(
                "the text is also valid UTF-8: the declared {} may be wrong",
                e.name()
            ));
            confident = false;
        }
        return EncodingDecision {
            encoding: e,
            source,
            evidence: ev,
            confident,
        };
    }

    if content.all_ascii {
        ev.push("nothing declared, nothing to detect: UTF-8".to_string());
        return EncodingDecision {
            encoding: TextEncoding::UTF_8,
            source: EncodingSource::Default,
            evidence: ev,
            confident: true,
        };
    }
    if content.valid_utf8 {
        ev.push("undeclared valid UTF-8: UTF-8".to_string());
        return EncodingDecision {
            encoding: TextEncoding::UTF_8,
            source: EncodingSource::Detected,
            evidence: ev,
            confident: true,
        };
    }
    let bytes = sample();
    let (encoding, confident) = detect(&bytes, inp.chinese, &mut ev);
    EncodingDecision {
        encoding,
        source: EncodingSource::Detected,
        evidence: ev,
        confident,
    }
}

/// Count of values in `bytes` (space-separated cells) that do not decode in `e`.
fn undecodable_cells(e: TextEncoding, bytes: &[u8]) -> usize {
    bytes
        .split(|&b| b == b'\n')
        .filter(|cell| !cell.is_empty() && e.decode(cell).is_none())
        .count()
}

fn detect(sample: &[u8], chinese: bool, ev: &mut Vec<String>) -> (TextEncoding, bool) {
    let mut det = chardetng::EncodingDetector::new(chardetng::Iso2022JpDetection::Deny);
    det.feed(sample, true);
    let tld: Option<&[u8]> = if chinese { Some(b"cn") } else { None };
    let guess = det.guess(tld, chardetng::Utf8Detection::Deny);
    let cells = sample
        .split(|&b| b == b'\n')
        .filter(|c| !c.is_empty())
        .count();
    ev.push(format!(
        "detector (chardetng{}) on {} bytes in {cells} text values guesses {}",
        if chinese { ", Chinese hint" } else { "" },
        sample.len(),
        guess.name()
    ));
    if !chinese {
        let bad = undecodable_cells(TextEncoding::Std(guess), sample);
        ev.push(format!(
            "{bad} of {cells} sampled values fail to decode as {}",
            guess.name()
        ));
        ev.push("undeclared non-UTF-8 text: a guess, set the encoding explicitly".to_string());
        return (TextEncoding::Std(guess), false);
    }
    // Chinese data: only GBK (GB18030) or Big5 are candidates. Both decode almost any byte
    // pairs, so the tie-breaker is how much of the decoded text is common Chinese characters.
    let gbk = TextEncoding::GBK;
    let big5 = TextEncoding::Std(encoding_rs::BIG5);
    let gbk_bad = undecodable_cells(gbk, sample);
    let big5_bad = undecodable_cells(big5, sample);
    let scoring = &sample[..sample.len().min(64 * 1024)];
    let (gbk_common, gbk_han) = common_han(gbk, scoring);
    let (big5_common, big5_han) = common_han(big5, scoring);
    ev.push(format!(
        "GBK/GB18030: {gbk_bad} of {cells} values fail, {gbk_common} of {gbk_han} Han characters common; \
         Big5: {big5_bad} fail, {big5_common} of {big5_han} common"
    ));
    let key = |bad: usize, common: usize| (std::cmp::Reverse(bad), common);
    let pick = match key(gbk_bad, gbk_common).cmp(&key(big5_bad, big5_common)) {
        std::cmp::Ordering::Greater => gbk,
        std::cmp::Ordering::Less => big5,
        std::cmp::Ordering::Equal if guess == encoding_rs::BIG5 => big5,
        std::cmp::Ordering::Equal => gbk,
    };
    let (pick_bad, pick_common, pick_han, other_common) = if pick == gbk {
        (gbk_bad, gbk_common, gbk_han, big5_common)
    } else {
        (big5_bad, big5_common, big5_han, gbk_common)
    };
    // confident: decodes cleanly, and at least a third of its Han characters are common ones,
    // clearly more than under the other encoding
    let confident = pick_bad == 0
        && pick_han > 0
        && 3 * pick_common >= pick_han
        && pick_common >= 2 * other_common.max(1);
    ev.push(format!(
        "chosen {} among Chinese encodings{}",
        pick.name(),
        if confident {
            ""
        } else {
            " (not certain: set the encoding explicitly if wrong)"
        }
    ));
    (pick, confident)
}

/// About 500 of the most frequent Chinese characters, simplified and traditional forms.
const COMMON_HAN: &str = "的一是不了人我在有他这中大来上国个到说们为子和你地出道也时年得就那要下以生会自着去之过家学对可她里后小么心多天而能好都然没日于起还发成事只作当想看文无开手十用主行方又如前所本见经头面公同三已老从动两长知民样现分将外但身些与高意进把法此实回二理美点月明其种声全工己话儿者向情部正名定女问力机给等几很业最间新什打便位因重被走电四第门相次东政海口使教西再平真听世气信北少关并内加化由却代军产入先山五太水万市眼体别处总才场师书比住员九笑性通目华报立马命张活难神数件安表原车白应路期叫死常提感金何更反合放做系计或司利受光王果亲界及今京务制解各任至清物台象记边共风战干接它许八特觉望直服毛林题建南度统色字请交爱让认算论百吃义科怎元社术结六功指思非流每青管夫连远资队跟带花快条院变联言权往展该领传近留红治决周保达办运武半候七必城父强步完革深区即求品士转量空甚众技轻程告江语英基派满式李息写呢识极令黄德收脸钱党倒未持取设始版双历越史商千片容研像找友孩站广改议形委早房音火际则首单据导影失拿网香似斯专石若兵弟谁校读志飞观争究包组造落视济喜离虽坐集编宝谈府拉黑且随格尽剑讲布杀微怕母调局根曾准团段终乐切级克精哪官示冷域這來說們為時會著過學對裡後麼沒於還發當無開經頭見從動兩長樣現將與進點種聲話兒問機給幾業間電門東聽氣關並內卻軍產萬體別處總場師書員華報馬張難數車應親務記邊風戰許覺題統請愛讓認論義術結條變聯權該領傳紅決達辦運強區轉眾輕滿寫識極黃臉錢黨設雙歷廣議際則單據導網專誰讀飛觀爭組視濟離雖編寶談隨盡劍講殺調團終樂級區縣鎮街號村組宗權屬證記登籍户戶國語個實題應層確態斷費鐵圖絕夠護歡鄉廳灣臺門築類測繪";

fn common_set() -> &'static [char] {
    static SET: std::sync::OnceLock<Vec<char>> = std::sync::OnceLock::new();
    SET.get_or_init(|| {
        let mut v: Vec<char> = COMMON_HAN.chars().collect();
        v.sort_unstable();
        v.dedup();
        v
    })
}

/// (common Han characters, all Han characters) in the decodable values of `sample`.
fn common_han(e: TextEncoding, sample: &[u8]) -> (usize, usize) {
    let set = common_set();
    let (mut common, mut han) = (0, 0);
    for cell in sample.split(|&b| b == b'\n') {
        if let Some(text) = e.decode(cell) {
            for c in text
                .chars()
                .filter(|c| ('\u{4E00}'..='\u{9FFF}').contains(c))
            {
                han += 1;
                if set.binary_search(&c).is_ok() {
                    common += 1;
                }
            }
        }
    }
    (common, han)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpg_spellings_in_the_wild_parse() {
        let cases: &[(&str, &str)] = &[
            ("UTF-8", "UTF-8"),
            ("utf8\r\n", "UTF-8"),
            ("936", "GBK"),
            ("CP936", "GBK"),
            ("GBK", "GBK"),
            ("GB2312", "GBK"),
            ("GB18030", "gb18030"),
            ("ANSI 1250", "windows-1250"),
            ("Windows-1251", "windows-1251"),
            ("Big-5", "Big5"),
            ("shiftjis", "Shift_JIS"),
            ("EUC-KR", "EUC-KR"),
            ("koi8r", "KOI8-R"),
            ("latin2", "ISO-8859-2"),
            ("1251", "windows-1251"),
            ("874", "windows-874"),
            ("UTF-16", "UTF-16LE"),
            ("8859-5", "ISO-8859-5"),
            ("ISO-8859-1", "windows-1252"),
            ("OEM 437", "IBM437"),
            ("65001", "UTF-8"),
        ];
        for (text, name) in cases {
            assert_eq!(
                TextEncoding::from_cpg(text).map(|e| e.name()),
                Some(*name),
                "{text:?}"
            );
        }
        for junk in [
            "",
            "<!DOCTYPE html><html><head>",
            "ANSI",
            "hello world",
            "9999",
            "UTF-9",
        ] {
            assert_eq!(TextEncoding::from_cpg(junk), None, "{junk:?}");
        }
    }

    #[test]
    fn ldid_table_matches_gdal_for_the_common_bytes() {
        let name = |l| TextEncoding::from_ldid(l).map(|(e, g)| (e.name(), g));
        assert_eq!(name(77), Some(("GBK", "CP936".to_string())));
        assert_eq!(name(122), Some(("GBK", "CP936".to_string())));
        assert_eq!(name(87), Some(("windows-1252", "ISO-8859-1".to_string())));
        assert_eq!(name(88), Some(("windows-1252", "CP1252".to_string())));
        assert_eq!(name(27), Some(("IBM437", "CP437".to_string())));
        assert_eq!(name(201), Some(("windows-1251", "CP1251".to_string())));
        assert_eq!(name(0), None);
        assert_eq!(name(104), None); // CP895 has no decoder
    }

    #[test]
    fn dos_code_pages_decode_and_gbk_rejects_malformed_bytes() {
        assert_eq!(
            TextEncoding::CodePage(437)
                .decode(b"caf\x82 \xE1")
                .as_deref(),
            Some("café ß")
        );
        assert_eq!(
            TextEncoding::GBK.decode(b"\xD5\xC5\xC8\xFD").as_deref(),
            Some("张三")
        );
        assert_eq!(TextEncoding::GBK.decode(b"\xD5"), None);
        let mut s = String::from("x");
        assert!(!TextEncoding::UTF_8.decode_into(b"\xFF", &mut s));
        assert_eq!(s, "x");
    }

    fn content(all_ascii: bool, valid_utf8: bool) -> ContentEvidence {
        ContentEvidence {
            all_ascii,
            valid_utf8,
            non_ascii_records: usize::from(!all_ascii),
            first_invalid_utf8: None,
        }
    }

    #[test]
    fn precedence_is_override_cpg_cst_ldid_content() {
        let c = content(false, false);
        let mut w = Vec::new();
        let mut no_sample = || -> Vec<u8> { panic!("detection must not run") };
        let mut inp = DecisionInputs {
            override_encoding: Some(TextEncoding::Std(encoding_rs::BIG5)),
            cpg: Some("936"),
            cst: Some("UTF-8"),
            ldid: 87,
            content: &c,
            chinese: false,
        };
        let d = decide(&inp, &mut no_sample, &mut w);
        assert_eq!(
            (d.encoding.name(), d.source),
            ("Big5", EncodingSource::Override)
        );
        inp.override_encoding = None;
        let d = decide(&inp, &mut no_sample, &mut w);
        assert_eq!((d.encoding.name(), d.source), ("GBK", EncodingSource::Cpg));
        inp.cpg = Some("<html>");
        let d = decide(&inp, &mut no_sample, &mut w);
        assert_eq!(
            (d.encoding.name(), d.source),
            ("UTF-8", EncodingSource::Cst)
        );
        assert!(w.iter().any(|m| m.contains("not a code page")), "{w:?}");
        inp.cst = None;
        let d = decide(&inp, &mut no_sample, &mut w);
        assert_eq!(
            (d.encoding.name(), d.source),
            ("windows-1252", EncodingSource::Ldid)
        );
    }

    #[test]
    fn undeclared_gbk_is_detected_with_the_chinese_hint() {
        let c = content(false, false);
        let text =
            "宗地代码\n莱芜区张家洼街道\n钢城区艾山街道办事处\n权利人名称\n国有建设用地使用权\n";
        let (gbk, _, _) = encoding_rs::GBK.encode(text);
        let gbk = gbk.into_owned();
        let mut w = Vec::new();
        let inp = DecisionInputs {
            override_encoding: None,
            cpg: None,
            cst: None,
            ldid: 0,
            content: &c,
            chinese: true,
        };
        let d = decide(&inp, &mut || gbk.clone(), &mut w);
        assert_eq!(d.encoding, TextEncoding::GBK, "{:?}", d.evidence);
        assert_eq!(d.source, EncodingSource::Detected);
        assert!(d.confident, "{:?}", d.evidence);
    }
}
