//! The operator parameter file: secret 7- or 4-parameter transformations, read at run time.
//!
//! The values never leave this module except as PROJ pipeline text inside [`crate::Operation`]
//! and as the file written by [`OperatorParams::write`]. `Debug` redacts them, there is no
//! `Display`, no `Serialize`, and parse errors name the file and key, never the value.

use crate::crs::CrsRef;
use crate::error::CrsError;
use std::fmt;
use std::path::{Path, PathBuf};

/// Environment variable naming the parameter file when a pipeline does not.
pub const PARAMS_ENV: &str = "CADASTRA_CRS_PARAMS";

/// Transformation model.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Model {
    /// 7-parameter Bursa-Wolf (Helmert) on geocentric coordinates.
    SevenParam,
    /// 4-parameter plane similarity (平面四参数) between two grids.
    FourParam,
}

impl Model {
    /// `"7p"` or `"4p"`, as written in the file.
    pub fn as_str(self) -> &'static str {
        match self {
            Model::SevenParam => "7p",
            Model::FourParam => "4p",
        }
    }
}

impl fmt::Display for Model {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Rotation sign convention of a 7-parameter set. They differ by the sign of the rotations, which
/// is metres on the ground for 1″ rotations, and Chinese parameter sheets rarely say which.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Convention {
    /// Position vector (EPSG method 9606, PROJ `+towgs84`, IERS).
    PositionVector,
    /// Coordinate frame (EPSG method 9607, ISO 19111 "Bursa-Wolf" in many Chinese tools).
    CoordinateFrame,
}

impl Convention {
    /// `"position_vector"` or `"coordinate_frame"` (as PROJ and the file spell it).
    pub fn as_str(self) -> &'static str {
        match self {
            Convention::PositionVector => "position_vector",
            Convention::CoordinateFrame => "coordinate_frame",
        }
    }
    fn parse(s: &str) -> Option<Convention> {
        match s {
            "position_vector" => Some(Convention::PositionVector),
            "coordinate_frame" => Some(Convention::CoordinateFrame),
            _ => None,
        }
    }
    /// The other convention.
    pub fn other(self) -> Convention {
        match self {
            Convention::PositionVector => Convention::CoordinateFrame,
            Convention::CoordinateFrame => Convention::PositionVector,
        }
    }
}

impl fmt::Display for Convention {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Seven Bursa-Wolf parameters. `Debug` is redacted.
#[derive(Clone, Copy, PartialEq)]
pub struct SevenParams {
    /// translations, metres
    pub tx: f64,
    pub ty: f64,
    pub tz: f64,
    /// rotations, arc-seconds
    pub rx: f64,
    pub ry: f64,
    pub rz: f64,
    /// scale difference, ppm (scale factor = 1 + ds·10⁻⁶)
    pub ds: f64,
}

impl fmt::Debug for SevenParams {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SevenParams(<redacted>)")
    }
}

/// Four plane-similarity parameters. `Debug` is redacted.
///
/// In Chinese survey notation (X north, Y east): X' = ΔX + k(X cos α − Y sin α),
/// Y' = ΔY + k(X sin α + Y cos α), with `dx` = ΔY (easting shift), `dy` = ΔX (northing shift),
/// `scale` = k and `rotation` = α.
#[derive(Clone, Copy, PartialEq)]
pub struct FourParams {
    /// easting shift, metres
    pub dx: f64,
    /// northing shift, metres
    pub dy: f64,
    /// the scale factor itself (1 + m), not ppm
    pub scale: f64,
    /// rotation α, arc-seconds
    pub rotation: f64,
}

impl fmt::Debug for FourParams {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("FourParams(<redacted>)")
    }
}

#[derive(Clone, Copy, PartialEq)]
pub(crate) enum Values {
    Seven(Convention, SevenParams),
    Four(FourParams),
}

/// One transformation from an operator parameter file. See the crate docs for the file format.
#[derive(Clone, PartialEq)]
pub struct OperatorParams {
    pub(crate) values: Values,
    source: CrsRef,
    target: CrsRef,
    /// where the parameters came from (a path, or a label for in-memory parameters)
    origin: String,
}

impl fmt::Debug for OperatorParams {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OperatorParams")
            .field("model", &self.model())
            .field("convention", &self.convention())
            .field("source", &self.source)
            .field("target", &self.target)
            .field("origin", &self.origin)
            .field("values", &"<redacted>")
            .finish()
    }
}

const SEVEN_KEYS: [&str; 7] = ["tx", "ty", "tz", "rx", "ry", "rz", "ds"];
const FOUR_KEYS: [&str; 4] = ["dx", "dy", "scale", "rotation"];
const COMMON_KEYS: [&str; 5] = ["model", "source", "target", "convention", "description"];

impl OperatorParams {
    /// 7-parameter set built in memory (tests, the sample generator, the fitter).
    pub fn seven(
        source: CrsRef,
        target: CrsRef,
        convention: Convention,
        p: SevenParams,
    ) -> OperatorParams {
        OperatorParams {
            values: Values::Seven(convention, p),
            source,
            target,
            origin: "(in memory)".into(),
        }
    }

    /// 4-parameter set built in memory.
    pub fn four(source: CrsRef, target: CrsRef, p: FourParams) -> OperatorParams {
        OperatorParams {
            values: Values::Four(p),
            source,
            target,
            origin: "(in memory)".into(),
        }
    }

    pub fn model(&self) -> Model {
        match self.values {
            Values::Seven(..) => Model::SevenParam,
            Values::Four(_) => Model::FourParam,
        }
    }

    /// The rotation convention (7p only).
    pub fn convention(&self) -> Option<Convention> {
        match self.values {
            Values::Seven(c, _) => Some(c),
            Values::Four(_) => None,
        }
    }

    pub fn source(&self) -> &CrsRef {
        &self.source
    }

    pub fn target(&self) -> &CrsRef {
        &self.target
    }

    /// The file the parameters were read from, or `(in memory)`.
    pub fn origin(&self) -> &str {
        &self.origin
    }

    /// The same parameters declared in the other rotation convention (rotations unchanged):
    /// used to test which convention an undocumented parameter sheet follows.
    pub fn with_convention(&self, convention: Convention) -> OperatorParams {
        let mut p = self.clone();
        if let Values::Seven(c, _) = &mut p.values {
            *c = convention;
        }
        p
    }

    /// Read a parameter file.
    pub fn load(path: &Path) -> Result<OperatorParams, CrsError> {
        let text = std::fs::read_to_string(path).map_err(|source| CrsError::ParamsIo {
            path: path.to_path_buf(),
            source,
        })?;
        let mut p = OperatorParams::parse(&text, &path.display().to_string())?;
        p.origin = path.display().to_string();
        Ok(p)
    }

    /// The file named by [`PARAMS_ENV`], if the variable is set (and not empty).
    pub fn from_env() -> Result<Option<OperatorParams>, CrsError> {
        match std::env::var_os(PARAMS_ENV) {
            Some(p) if !p.is_empty() => OperatorParams::load(&PathBuf::from(p)).map(Some),
            _ => Ok(None),
        }
    }

    /// Parse parameter-file text; `file` names it in errors.
    pub fn parse(text: &str, file: &str) -> Result<OperatorParams, CrsError> {
        let table: toml::Table = text.parse().map_err(|e: toml::de::Error| {
            let line = e
                .span()
                .map(|s| {
                    let b = text.as_bytes();
                    b[..s.start.min(b.len())]
                        .iter()
                        .filter(|c| **c == b'\n')
                        .count()
                        + 1
                })
                .unwrap_or(0);
            CrsError::ParamsSyntax {
                file: file.to_string(),
                line,
            }
        })?;
        let f = || file.to_string();
        let string = |key: &'static str| -> Result<Option<&str>, CrsError> {
            match table.get(key) {
                None => Ok(None),
                Some(toml::Value::String(s)) => Ok(Some(s.as_str())),
                Some(_) => Err(CrsError::ParamsBadValue {
                    file: f(),
                    key: key.into(),
                    expected: "a string",
                }),
            }
        };
        let required = |key: &'static str| -> Result<&str, CrsError> {
            string(key)?.ok_or(CrsError::ParamsMissingKey { file: f(), key })
        };
        let number = |key: &'static str| -> Result<f64, CrsError> {
            let v = match table.get(key) {
                None => return Err(CrsError::ParamsMissingKey { file: f(), key }),
                Some(toml::Value::Float(x)) => *x,
                Some(toml::Value::Integer(i)) => *i as f64,
                Some(_) => {
                    return Err(CrsError::ParamsBadValue {
                        file: f(),
                        key: key.into(),
                        expected: "a number",
                    })
                }
            };
            if v.is_finite() {
                Ok(v)
            } else {
                Err(CrsError::ParamsBadValue {
                    file: f(),
                    key: key.into(),
                    expected: "a finite number",
                })
            }
        };
        let crs = |key: &'static str| -> Result<CrsRef, CrsError> {
            required(key)?
                .parse()
                .map_err(|_| CrsError::ParamsBadValue {
                    file: f(),
                    key: key.into(),
                    expected: "`EPSG:<code>`, `local` or `local:<name>`",
                })
        };
        let model = match required("model")? {
            "7p" => Model::SevenParam,
            "4p" => Model::FourParam,
            _ => {
                return Err(CrsError::ParamsBadValue {
                    file: f(),
                    key: "model".into(),
                    expected: "\"7p\" or \"4p\"",
                })
            }
        };
        let allowed: &[&str] = match model {
            Model::SevenParam => &SEVEN_KEYS,
            Model::FourParam => &FOUR_KEYS,
        };
        if let Some(k) = table
            .keys()
            .find(|k| !allowed.contains(&k.as_str()) && !COMMON_KEYS.contains(&k.as_str()))
        {
            return Err(CrsError::ParamsUnknownKey {
                file: f(),
                key: k.clone(),
                model: model.as_str(),
            });
        }
        string("description")?;
        let source = crs("source")?;
        let target = crs("target")?;
        let values = match model {
            Model::SevenParam => {
                let conv = required("convention")?;
                let convention =
                    Convention::parse(conv).ok_or_else(|| CrsError::ParamsBadValue {
                        file: f(),
                        key: "convention".into(),
                        expected: "\"position_vector\" or \"coordinate_frame\"",
                    })?;
                if matches!(source, CrsRef::Local(_)) || matches!(target, CrsRef::Local(_)) {
                    return Err(CrsError::ParamsBadValue {
                        file: f(),
                        key: "source".into(),
                        expected: "an EPSG CRS for a 7p model (local grids need 4p)",
                    });
                }
                let p = SevenParams {
                    tx: number("tx")?,
                    ty: number("ty")?,
                    tz: number("tz")?,
                    rx: number("rx")?,
                    ry: number("ry")?,
                    rz: number("rz")?,
                    ds: number("ds")?,
                };
                if p.ds <= -1.0e6 {
                    return Err(CrsError::ParamsBadValue {
                        file: f(),
                        key: "ds".into(),
                        expected: "a scale difference in ppm greater than -1000000",
                    });
                }
                Values::Seven(convention, p)
            }
            Model::FourParam => {
                if table.contains_key("convention") {
                    return Err(CrsError::ParamsUnknownKey {
                        file: f(),
                        key: "convention".into(),
                        model: "4p",
                    });
                }
                let p = FourParams {
                    dx: number("dx")?,
                    dy: number("dy")?,
                    scale: number("scale")?,
                    rotation: number("rotation")?,
                };
                if !(p.scale > 0.5 && p.scale < 2.0) {
                    return Err(CrsError::ParamsBadValue {
                        file: f(),
                        key: "scale".into(),
                        expected: "the scale factor itself (about 1, e.g. 1.0000123), not ppm",
                    });
                }
                Values::Four(p)
            }
        };
        Ok(OperatorParams {
            values,
            source,
            target,
            origin: file.to_string(),
        })
    }

    /// The file text. Numbers use Rust's shortest round-trip formatting, so reading the file back
    /// gives bit-identical values.
    pub(crate) fn to_file_text(&self, comment: &str) -> String {
        let mut s = String::new();
        s.push_str(
            "# cadastra operator parameters: CONFIDENTIAL. Transformation parameters between\n",
        );
        s.push_str(
            "# national, geocentric and local systems are classified; keep this file on the\n",
        );
        s.push_str(
            "# isolated network, readable by the operator account only. Never commit or mail it.\n",
        );
        for line in comment.lines() {
            s.push_str("# ");
            s.push_str(line);
            s.push('\n');
        }
        s.push_str(&format!("model = \"{}\"\n", self.model()));
        s.push_str(&format!("source = \"{}\"\n", self.source));
        s.push_str(&format!("target = \"{}\"\n", self.target));
        match &self.values {
            Values::Seven(c, p) => {
                s.push_str(&format!("convention = \"{c}\"\n"));
                s.push_str(&format!("tx = {:?}  # metres\n", p.tx));
                s.push_str(&format!("ty = {:?}  # metres\n", p.ty));
                s.push_str(&format!("tz = {:?}  # metres\n", p.tz));
                s.push_str(&format!("rx = {:?}  # arc-seconds\n", p.rx));
                s.push_str(&format!("ry = {:?}  # arc-seconds\n", p.ry));
                s.push_str(&format!("rz = {:?}  # arc-seconds\n", p.rz));
                s.push_str(&format!("ds = {:?}  # ppm\n", p.ds));
            }
            Values::Four(p) => {
                s.push_str(&format!("dx = {:?}  # metres, easting (survey ΔY)\n", p.dx));
                s.push_str(&format!(
                    "dy = {:?}  # metres, northing (survey ΔX)\n",
                    p.dy
                ));
                s.push_str(&format!(
                    "scale = {:?}  # factor (1 + m), not ppm\n",
                    p.scale
                ));
                s.push_str(&format!(
                    "rotation = {:?}  # arc-seconds, α of X' = ΔX + k(X cos α − Y sin α)\n",
                    p.rotation
                ));
            }
        }
        s
    }

    /// Write the parameter file (mode 0600 on Unix). `comment` lines go in as `#` comments and
    /// must not contain values.
    pub fn write(&self, path: &Path, comment: &str) -> Result<(), CrsError> {
        use std::io::Write;
        let err = |source| CrsError::ParamsWrite {
            path: path.to_path_buf(),
            source,
        };
        let mut opts = std::fs::OpenOptions::new();
        opts.write(true).create(true).truncate(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            opts.mode(0o600);
        }
        let mut file = opts.open(path).map_err(err)?;
        #[cfg(unix)]
        {
            // an existing file keeps its mode on open: tighten it
            use std::os::unix::fs::PermissionsExt;
            file.set_permissions(std::fs::Permissions::from_mode(0o600))
                .map_err(err)?;
        }
        file.write_all(self.to_file_text(comment).as_bytes())
            .map_err(err)?;
        file.sync_all().map_err(err)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SEVEN: &str = r#"
model = "7p"
convention = "coordinate_frame"
source = "EPSG:2436"
target = "EPSG:4548"
tx = -15.415
ty = 157.025
tz = 94.74
rx = 1.465
ry = -0.354
rz = -1.865
ds = -2.5
"#;

    const FOUR: &str = r#"
model = "4p"
source = "local:laiwu-city"
target = "EPSG:4548"
dx = 499876.5
dy = 4012345
scale = 1.0000123
rotation = -12.5
"#;

    #[test]
    fn seven_and_four_parameter_files_parse() {
        let p = OperatorParams::parse(SEVEN, "p7.toml").unwrap();
        assert_eq!(p.model(), Model::SevenParam);
        assert_eq!(p.convention(), Some(Convention::CoordinateFrame));
        assert_eq!(p.source(), &CrsRef::Epsg(2436));
        let Values::Seven(_, v) = p.values else {
            panic!("7p")
        };
        assert_eq!((v.tx, v.ry, v.ds), (-15.415, -0.354, -2.5));

        let q = OperatorParams::parse(FOUR, "p4.toml").unwrap();
        assert_eq!(q.model(), Model::FourParam);
        assert_eq!(q.source(), &CrsRef::Local("laiwu-city".into()));
        let Values::Four(v) = q.values else {
            panic!("4p")
        };
        assert_eq!((v.dy, v.scale), (4012345.0, 1.0000123));
    }

    #[test]
    fn debug_and_errors_never_show_values() {
        let p = OperatorParams::parse(SEVEN, "p7.toml").unwrap();
        let dbg = format!("{p:?}");
        for secret in [
            "15.415", "157.025", "94.74", "1.465", "0.354", "1.865", "2.5",
        ] {
            assert!(!dbg.contains(secret), "{dbg}");
        }
        assert!(dbg.contains("redacted"));
        // a syntax error near a value: the message has the line, not the text
        let broken = SEVEN.replace("ty = 157.025", "ty = 157.025.1");
        let e = OperatorParams::parse(&broken, "p7.toml")
            .unwrap_err()
            .to_string();
        assert!(e.contains("line 7") && !e.contains("157"), "{e}");
        // a wrong type: names the key, not the value
        // a syntax error after multi-byte text still reports a line, no panic
        let e = OperatorParams::parse("description = \"莱芜\"\ntx = =", "p.toml").unwrap_err();
        assert!(e.to_string().contains("line 2"), "{e}");
        let wrong = SEVEN.replace("tz = 94.74", "tz = \"94.74 m\"");
        let e = OperatorParams::parse(&wrong, "p7.toml")
            .unwrap_err()
            .to_string();
        assert!(e.contains("`tz`") && !e.contains("94"), "{e}");
    }

    #[test]
    fn missing_unknown_and_bad_keys_are_named() {
        let cases: &[(&str, &str, &str)] = &[
            ("tz = 94.74\n", "", "missing key `tz`"),
            (
                "convention = \"coordinate_frame\"\n",
                "",
                "missing key `convention`",
            ),
            (
                "convention = \"coordinate_frame\"",
                "convention = \"bursa\"",
                "`convention`",
            ),
            ("model = \"7p\"", "model = \"3p\"", "`model`"),
            ("ds = -2.5", "ds = -2.5\ndx = 3", "unknown key `dx`"),
            ("tx = -15.415", "tx = nan", "finite"),
            (
                "source = \"EPSG:2436\"",
                "source = \"Beijing54\"",
                "`source`",
            ),
        ];
        for (from, to, expect) in cases {
            let text = SEVEN.replace(from, to);
            let e = OperatorParams::parse(&text, "p7.toml")
                .unwrap_err()
                .to_string();
            assert!(e.contains(expect) && e.contains("p7.toml"), "{from} -> {e}");
        }
        let ppm = FOUR.replace("scale = 1.0000123", "scale = 12.3");
        let e = OperatorParams::parse(&ppm, "p4.toml")
            .unwrap_err()
            .to_string();
        assert!(e.contains("`scale`") && !e.contains("12.3"), "{e}");
        let conv = format!("{FOUR}convention = \"position_vector\"\n");
        assert!(OperatorParams::parse(&conv, "p4.toml").is_err());
        let local7 = SEVEN.replace("EPSG:2436", "local");
        assert!(OperatorParams::parse(&local7, "p7.toml").is_err());
    }

    #[test]
    fn write_then_load_round_trips_exactly_and_privately() {
        let dir = tempfile::tempdir().unwrap();
        for text in [SEVEN, FOUR] {
            let p = OperatorParams::parse(text, "mem").unwrap();
            let path = dir.path().join(format!("{}.toml", p.model()));
            p.write(&path, "fitted from 12 control points").unwrap();
            let q = OperatorParams::load(&path).unwrap();
            assert!(p.values == q.values && p.source() == q.source() && p.target() == q.target());
            assert_eq!(q.origin(), path.display().to_string());
            #[cfg(unix)]
            {
                use std::os::unix::fs::PermissionsExt;
                let mode = std::fs::metadata(&path).unwrap().permissions().mode();
                assert_eq!(mode & 0o777, 0o600);
            }
        }
        let e = OperatorParams::load(&dir.path().join("missing.toml")).unwrap_err();
        assert!(e.to_string().contains("missing.toml"));
    }
}
