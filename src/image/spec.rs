//! What a container image says about itself: name, tag, entry point,
//! command, environment, working directory, user, exposed ports, labels and
//! platform, read from the `BBSDK_IMAGE_*` options.
//!
//! Multi-word values use shell-like quoting (the `shlex` crate): quotes and
//! backslashes are honoured, nothing is expanded. The entry point and the
//! command may also be given as a JSON array of strings.

use std::collections::BTreeMap;

use crate::target::Target;

/// The settings every container format shares.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageSpec {
    /// Repository part of the reference, e.g. `bbsdk/rootfs`.
    pub name: String,
    pub tag: String,
    pub entrypoint: Vec<String>,
    pub cmd: Vec<String>,
    /// `NAME=VALUE` assignments, in the order given.
    pub env: Vec<String>,
    /// Absolute directory, or empty for the engine's default.
    pub workdir: String,
    /// `user[:group]`, empty for root.
    pub user: String,
    /// Normalised `PORT/PROTO` entries (`80/tcp`), sorted, no duplicates.
    pub exposed_ports: Vec<String>,
    pub labels: BTreeMap<String, String>,
    /// OCI `architecture` (`amd64`, `arm64`, `arm`).
    pub architecture: String,
    /// OCI `variant` (`v7`, `v8`), if any.
    pub variant: Option<String>,
    /// `created` of the image, seconds since 1970 (`SOURCE_DATE_EPOCH`).
    pub created: u64,
}

/// A `BBSDK_IMAGE_*` value that cannot be used.
#[derive(Debug, thiserror::Error)]
#[error("{symbol}=\"{value}\": {message}\n  hint: {hint}")]
pub struct SpecError {
    pub symbol: String,
    pub value: String,
    pub message: String,
    pub hint: String,
}

fn err(symbol: &str, value: &str, message: impl Into<String>, hint: &str) -> SpecError {
    SpecError {
        symbol: symbol.to_string(),
        value: value.to_string(),
        message: message.into(),
        hint: hint.to_string(),
    }
}

const MENU_HINT: &str =
    "change it in `bbsdk menuconfig` (Images > Container image settings) or in the defconfig";

impl ImageSpec {
    /// Reads the `BBSDK_IMAGE_*` values of a configuration. `created` is the
    /// `SOURCE_DATE_EPOCH` of the build.
    pub fn from_values(
        values: &BTreeMap<String, String>,
        target: &Target,
        created: u64,
    ) -> Result<ImageSpec, SpecError> {
        let get = |k: &str| values.get(k).map(String::as_str).unwrap_or("");
        let name = match get("BBSDK_IMAGE_NAME") {
            "" => "bbsdk/rootfs".to_string(),
            n => n.to_string(),
        };
        check_name("BBSDK_IMAGE_NAME", &name)?;
        let tag = match get("BBSDK_IMAGE_TAG") {
            "" => "latest".to_string(),
            t => t.to_string(),
        };
        check_tag("BBSDK_IMAGE_TAG", &tag)?;
        let entrypoint = parse_command("BBSDK_IMAGE_ENTRYPOINT", get("BBSDK_IMAGE_ENTRYPOINT"))?;
        let cmd = parse_command("BBSDK_IMAGE_CMD", get("BBSDK_IMAGE_CMD"))?;
        let env = split_words("BBSDK_IMAGE_ENV", get("BBSDK_IMAGE_ENV"))?;
        for e in &env {
            match e.split_once('=') {
                Some((k, _)) if !k.is_empty() && !k.contains(char::is_whitespace) => {}
                _ => {
                    return Err(err(
                        "BBSDK_IMAGE_ENV",
                        get("BBSDK_IMAGE_ENV"),
                        format!("`{e}` is not a NAME=VALUE assignment"),
                        "write NAME=VALUE, quoting values with spaces: \"GREETING=hello world\"",
                    ))
                }
            }
        }
        let workdir = get("BBSDK_IMAGE_WORKDIR").to_string();
        if !workdir.is_empty() && !workdir.starts_with('/') {
            return Err(err(
                "BBSDK_IMAGE_WORKDIR",
                &workdir,
                "the working directory must be an absolute path",
                "start it with /, e.g. /srv",
            ));
        }
        let user = get("BBSDK_IMAGE_USER").to_string();
        if user.contains(char::is_whitespace) || user.matches(':').count() > 1 {
            return Err(err(
                "BBSDK_IMAGE_USER",
                &user,
                "expected a user name or number, optionally followed by :group",
                "e.g. nobody, 1000 or 1000:1000",
            ));
        }
        let mut exposed_ports = Vec::new();
        for p in split_words("BBSDK_IMAGE_EXPOSE", get("BBSDK_IMAGE_EXPOSE"))? {
            let port = normalize_port(&p).ok_or_else(|| {
                err(
                    "BBSDK_IMAGE_EXPOSE",
                    get("BBSDK_IMAGE_EXPOSE"),
                    format!("`{p}` is not a port"),
                    "write PORT, PORT/tcp or PORT/udp with PORT from 1 to 65535, e.g. \"80 53/udp\"",
                )
            })?;
            if !exposed_ports.contains(&port) {
                exposed_ports.push(port);
            }
        }
        exposed_ports.sort();
        let mut labels = BTreeMap::new();
        for l in split_words("BBSDK_IMAGE_LABELS", get("BBSDK_IMAGE_LABELS"))? {
            match l.split_once('=') {
                Some((k, v)) if !k.is_empty() => {
                    labels.insert(k.to_string(), v.to_string());
                }
                _ => {
                    return Err(err(
                        "BBSDK_IMAGE_LABELS",
                        get("BBSDK_IMAGE_LABELS"),
                        format!("`{l}` is not a KEY=VALUE pair"),
                        "write KEY=VALUE, quoting values with spaces: \"org.opencontainers.image.description=My image\"",
                    ))
                }
            }
        }
        let (arch, variant) = target.oci_platform();
        // The derived symbols win when present (they are what the menu shows).
        let architecture = match get("BBSDK_OCI_ARCH") {
            "" => arch.to_string(),
            a => a.to_string(),
        };
        let variant = match values.get("BBSDK_OCI_VARIANT") {
            Some(v) if v.is_empty() => None,
            Some(v) => Some(v.clone()),
            None => variant.map(str::to_string),
        };
        Ok(ImageSpec {
            name,
            tag,
            entrypoint,
            cmd,
            env,
            workdir,
            user,
            exposed_ports,
            labels,
            architecture,
            variant,
            created,
        })
    }

    /// `name:tag`.
    pub fn reference(&self) -> String {
        format!("{}:{}", self.name, self.tag)
    }

    /// `created` as RFC 3339 (`2023-11-14T22:13:20Z`).
    pub fn created_rfc3339(&self) -> String {
        rfc3339(self.created)
    }

    /// `linux/amd64`, `linux/arm/v7`.
    pub fn platform(&self) -> String {
        match &self.variant {
            Some(v) => format!("linux/{}/{v}", self.architecture),
            None => format!("linux/{}", self.architecture),
        }
    }
}

/// Seconds since 1970 as RFC 3339 in UTC.
pub fn rfc3339(secs: u64) -> String {
    let t = time::OffsetDateTime::from_unix_timestamp(secs.min(253_402_300_799) as i64)
        .unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
    t.format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_else(|_| "1970-01-01T00:00:00Z".into())
}

/// Shell-like words; no value is allowed to hold a newline (Dockerfiles
/// and some engines cannot carry one).
fn split_words(symbol: &str, value: &str) -> Result<Vec<String>, SpecError> {
    let words = shlex::split(value).ok_or_else(|| {
        err(
            symbol,
            value,
            "unbalanced quotes",
            "close every \" and ' (a literal quote is written \\\")",
        )
    })?;
    without_newlines(symbol, value, words)
}

/// `words`, unless one of them holds a newline (which no image format can
/// carry in a command or variable).
fn without_newlines(
    symbol: &str,
    value: &str,
    words: Vec<String>,
) -> Result<Vec<String>, SpecError> {
    if words.iter().any(|w| w.contains('\n')) {
        return Err(err(
            symbol,
            value,
            "values cannot contain a newline",
            MENU_HINT,
        ));
    }
    Ok(words)
}

/// An entry point or command: a JSON array of strings, or shell-like words.
fn parse_command(symbol: &str, value: &str) -> Result<Vec<String>, SpecError> {
    let trimmed = value.trim_start();
    if trimmed.starts_with('[') {
        let words: Vec<String> = serde_json::from_str(trimmed).map_err(|e| {
            err(
                symbol,
                value,
                format!("not a JSON array of strings: {e}"),
                "write it as [\"/bin/app\", \"--flag\"], or without brackets as shell-like words",
            )
        })?;
        return without_newlines(symbol, value, words);
    }
    split_words(symbol, value)
}

/// Repository names as registries accept them: lower-case components of
/// letters, digits and separators, optionally after a `host[:port]/`.
fn check_name(symbol: &str, name: &str) -> Result<(), SpecError> {
    let bad = |why: &str| {
        err(
            symbol,
            name,
            why,
            "use lower-case letters, digits, '.', '_', '-' and '/' between components, e.g. bbsdk/rootfs",
        )
    };
    let mut parts: Vec<&str> = name.split('/').collect();
    if parts.len() > 1
        && (parts[0].contains('.') || parts[0].contains(':') || parts[0] == "localhost")
    {
        let host = parts.remove(0);
        if host.is_empty()
            || !host
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || ".-:[]".contains(c))
        {
            return Err(bad("the registry host is not valid"));
        }
    }
    for p in parts {
        let ok = !p.is_empty()
            && p.chars().all(|c| {
                c.is_ascii_lowercase() || c.is_ascii_digit() || c == '.' || c == '_' || c == '-'
            })
            && p.starts_with(|c: char| c.is_ascii_alphanumeric())
            && p.ends_with(|c: char| c.is_ascii_alphanumeric());
        if !ok {
            return Err(bad(&format!("`{p}` is not a valid name component")));
        }
    }
    Ok(())
}

fn check_tag(symbol: &str, tag: &str) -> Result<(), SpecError> {
    let ok = tag.len() <= 128
        && tag.starts_with(|c: char| c.is_ascii_alphanumeric() || c == '_')
        && tag
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '.' || c == '-');
    if ok {
        Ok(())
    } else {
        Err(err(
            symbol,
            tag,
            "not a valid tag",
            "use up to 128 letters, digits, '_', '.' and '-', not starting with '.' or '-'",
        ))
    }
}

fn normalize_port(p: &str) -> Option<String> {
    let (num, proto) = match p.split_once('/') {
        Some((n, proto)) => (n, proto.to_ascii_lowercase()),
        None => (p, "tcp".to_string()),
    };
    let n: u16 = num.parse().ok()?;
    if n == 0 || !matches!(proto.as_str(), "tcp" | "udp" | "sctp") {
        return None;
    }
    Some(format!("{n}/{proto}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn values(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        let mut v: BTreeMap<String, String> = [("BBSDK_ARCH_ARMV7", "y"), ("BBSDK_LIBC_MUSL", "y")]
            .iter()
            .chain(pairs)
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        v.retain(|_, x| x != "<unset>");
        v
    }

    fn spec(pairs: &[(&str, &str)]) -> Result<ImageSpec, SpecError> {
        let v = values(pairs);
        let t = Target::from_values(&v).unwrap();
        ImageSpec::from_values(&v, &t, 1_700_000_000)
    }

    #[test]
    fn reads_every_field() {
        let s = spec(&[
            ("BBSDK_IMAGE_NAME", "registry.example.com:5000/team/app"),
            ("BBSDK_IMAGE_TAG", "armv7-musl"),
            ("BBSDK_IMAGE_ENTRYPOINT", "[\"/bin/app\", \"a b\"]"),
            ("BBSDK_IMAGE_CMD", "--greet 'hello world' x\\ y"),
            ("BBSDK_IMAGE_ENV", "PATH=/bin \"GREETING=hello world\""),
            ("BBSDK_IMAGE_WORKDIR", "/srv"),
            ("BBSDK_IMAGE_USER", "1000:1000"),
            ("BBSDK_IMAGE_EXPOSE", "80 53/udp 80/tcp"),
            ("BBSDK_IMAGE_LABELS", "a=1 \"b=two words\""),
        ])
        .unwrap();
        assert_eq!(s.entrypoint, ["/bin/app", "a b"]);
        assert_eq!(s.cmd, ["--greet", "hello world", "x y"]);
        assert_eq!(s.env, ["PATH=/bin", "GREETING=hello world"]);
        assert_eq!(s.exposed_ports, ["53/udp", "80/tcp"]);
        assert_eq!(s.labels["b"], "two words");
        assert_eq!(
            (s.architecture.as_str(), s.variant.as_deref()),
            ("arm", Some("v7"))
        );
        assert_eq!(s.platform(), "linux/arm/v7");
        assert_eq!(s.created_rfc3339(), "2023-11-14T22:13:20Z");
        assert_eq!(
            s.reference(),
            "registry.example.com:5000/team/app:armv7-musl"
        );
    }

    #[test]
    fn errors_name_the_symbol() {
        for (sym, val, want) in [
            ("BBSDK_IMAGE_CMD", "echo 'oops", "unbalanced quotes"),
            ("BBSDK_IMAGE_ENTRYPOINT", "[\"/bin/app\", 1]", "JSON array"),
            ("BBSDK_IMAGE_ENV", "JUSTANAME", "NAME=VALUE"),
            ("BBSDK_IMAGE_EXPOSE", "80/xyz", "not a port"),
            ("BBSDK_IMAGE_EXPOSE", "70000", "not a port"),
            ("BBSDK_IMAGE_WORKDIR", "srv", "absolute"),
            (
                "BBSDK_IMAGE_NAME",
                "Bbsdk/Rootfs",
                "not a valid name component",
            ),
            ("BBSDK_IMAGE_TAG", "-x", "not a valid tag"),
            ("BBSDK_IMAGE_LABELS", "=x", "KEY=VALUE"),
        ] {
            let e = spec(&[(sym, val)]).unwrap_err().to_string();
            assert!(
                e.starts_with(sym) && e.contains(want) && e.contains("hint:"),
                "{e}"
            );
        }
    }

    #[test]
    fn defaults() {
        let s = spec(&[]).unwrap();
        assert_eq!(s.reference(), "bbsdk/rootfs:latest");
        assert!(s.cmd.is_empty() && s.entrypoint.is_empty() && s.labels.is_empty());
    }
}
