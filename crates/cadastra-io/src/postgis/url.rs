//! The registry URL: `postgresql://user[:password]@host[:port]/db[?schema=name&…]`.
//!
//! `schema` is cadastra's own parameter (the PostgreSQL schema holding the registry, default
//! `cadastra`); every other parameter goes to the driver. The text shown to users never contains
//! the password.

use crate::ddl::is_identifier;

/// The schema used when the URL names none.
pub const DEFAULT_SCHEMA: &str = "cadastra";

/// A registry URL split into what the driver gets and what users see.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegistryUrl {
    /// the URL handed to the driver (without `schema`)
    pub connect: String,
    /// the URL shown in messages: no password, `schema` always spelled out
    pub display: String,
    pub schema: String,
}

/// Split `url`; the error is a message for the user (it never repeats the password).
pub fn parse(url: &str) -> Result<RegistryUrl, String> {
    let rest = url
        .strip_prefix("postgresql://")
        .or_else(|| url.strip_prefix("postgres://"))
        .ok_or_else(|| "not a postgresql:// URL".to_string())?;
    let scheme = &url[..url.len() - rest.len()];
    let (base, query) = match rest.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (rest, None),
    };
    let mut schema = None;
    let mut keep = Vec::new();
    let mut shown = Vec::new();
    for param in query
        .into_iter()
        .flat_map(|q| q.split('&'))
        .filter(|p| !p.is_empty())
    {
        let (k, v) = param.split_once('=').unwrap_or((param, ""));
        match k {
            "schema" => {
                if !is_identifier(v) {
                    return Err(format!(
                        "schema name {v:?} in the URL is not a plain identifier (ASCII letters, \
                         digits and _, not starting with a digit, at most 63 characters)"
                    ));
                }
                if schema.replace(v.to_string()).is_some() {
                    return Err("the URL names the schema twice".into());
                }
            }
            "password" => keep.push(param),
            _ => {
                keep.push(param);
                shown.push(param);
            }
        }
    }
    let schema = schema.unwrap_or_else(|| DEFAULT_SCHEMA.to_string());
    let mut connect = format!("{scheme}{base}");
    if !keep.is_empty() {
        connect.push('?');
        connect.push_str(&keep.join("&"));
    }
    let mut display = format!("{scheme}{}?schema={schema}", mask_credentials(base));
    for p in shown {
        display.push('&');
        display.push_str(p);
    }
    Ok(RegistryUrl {
        connect,
        display,
        schema,
    })
}

/// `url` as it may be shown when it cannot be parsed: credentials and `password` parameters dropped,
/// and nothing at all of a string that is not a `postgresql://` URL.
pub fn shown(url: &str) -> String {
    let Some(rest) = url
        .strip_prefix("postgresql://")
        .or_else(|| url.strip_prefix("postgres://"))
    else {
        return "(connection string)".into();
    };
    let scheme = &url[..url.len() - rest.len()];
    let (base, query) = rest.split_once('?').unwrap_or((rest, ""));
    let params: Vec<&str> = query
        .split('&')
        .filter(|p| !p.is_empty() && !p.starts_with("password"))
        .collect();
    let mut s = format!("{scheme}{}", mask_credentials(base));
    if !params.is_empty() {
        s.push('?');
        s.push_str(&params.join("&"));
    }
    s
}

/// `user:password@host/db` -> `user@host/db`. The driver reads the credentials up to the first
/// `@`, so everything after a `:` before that `@` is dropped, whatever it contains.
fn mask_credentials(base: &str) -> String {
    match base.split_once('@') {
        Some((creds, host)) => {
            let user = creds.split_once(':').map_or(creds, |(u, _)| u);
            if user.is_empty() {
                host.to_string()
            } else {
                format!("{user}@{host}")
            }
        }
        None => base.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schema_is_taken_out_and_password_never_shown() {
        let u = parse("postgresql://cad:s3cret@db.example:5433/reg?schema=laiwu&sslmode=disable")
            .unwrap();
        assert_eq!(u.schema, "laiwu");
        assert_eq!(
            u.connect,
            "postgresql://cad:s3cret@db.example:5433/reg?sslmode=disable"
        );
        assert_eq!(
            u.display,
            "postgresql://cad@db.example:5433/reg?schema=laiwu&sslmode=disable"
        );
        assert!(!u.display.contains("s3cret"));
    }

    #[test]
    fn defaults_and_password_parameter() {
        let u = parse("postgres://h/db?password=pw").unwrap();
        assert_eq!(u.schema, DEFAULT_SCHEMA);
        assert_eq!(u.connect, "postgres://h/db?password=pw");
        assert_eq!(u.display, "postgres://h/db?schema=cadastra");
        let u = parse("postgresql://:pw@h/db").unwrap();
        assert_eq!(u.display, "postgresql://h/db?schema=cadastra");
        // a password with an unescaped '@' or ':' is still dropped up to the first '@'
        let u = parse("postgresql://u:a:b@h/db").unwrap();
        assert_eq!(u.display, "postgresql://u@h/db?schema=cadastra");
    }

    #[test]
    fn bad_schema_names_are_refused() {
        for bad in ["x;drop", "1abc", "a-b", "", "a\"b", "schéma"] {
            let e = parse(&format!("postgresql://h/db?schema={bad}")).unwrap_err();
            assert!(e.contains("not a plain identifier"), "{bad}: {e}");
        }
        assert!(parse("postgresql://h/db?schema=a&schema=b").is_err());
        assert!(parse("host=h dbname=db")
            .unwrap_err()
            .contains("postgresql://"));
        assert_eq!(shown("host=h password=pw"), "(connection string)");
        assert_eq!(
            shown("postgresql://u:pw@h/db?schema=1x&password=pw"),
            "postgresql://u@h/db?schema=1x"
        );
    }
}
