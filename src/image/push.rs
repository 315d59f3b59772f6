//! `bbsdk push`: sends an image of an OCI layout to a registry over the OCI
//! distribution API (blocking reqwest).
//!
//! For each blob (layers, then the config): `HEAD /v2/<repo>/blobs/<digest>`
//! and, when the registry lacks it, a monolithic upload (`POST
//! /v2/<repo>/blobs/uploads/`, then `PUT <location>?digest=<digest>` with
//! the whole blob). Then the manifest: `PUT /v2/<repo>/manifests/<tag>`
//! with the exact bytes of the layout's blob, so the digest stays the same.
//! A multi-arch tag pushes each platform's manifest by digest, then the
//! image index by tag.
//!
//! Authentication: on `401` the `WWW-Authenticate` challenge is followed.
//! `Bearer realm=...,service=...,scope=...` gets a token from the realm
//! (with the credentials as basic auth when there are any) and retries;
//! `Basic` retries with the credentials. Credentials come from
//! `BBSDK_REGISTRY_USER` / `BBSDK_REGISTRY_PASSWORD`.
//!
//! Plain HTTP is used for `localhost`, `127.0.0.0/8` and `[::1]`, and for
//! any host with `insecure` (which also accepts invalid TLS certificates).

use std::fs::File;
use std::path::{Path, PathBuf};

use oci_spec::image::{Descriptor, ImageIndex, ImageManifest, MediaType, ANNOTATION_REF_NAME};
use reqwest::blocking::{Client, RequestBuilder, Response};
use reqwest::header::{CONTENT_LENGTH, CONTENT_TYPE, LOCATION, WWW_AUTHENTICATE};
use reqwest::StatusCode;

use super::oci::{blob_path, read_json};
use super::ImageError;

/// Errors of `bbsdk push`.
#[derive(Debug, thiserror::Error)]
pub enum PushError {
    #[error(transparent)]
    Image(#[from] ImageError),
    #[error("{0}\n  hint: write the reference as HOST[:PORT]/REPOSITORY[:TAG], e.g. 127.0.0.1:5000/bbsdk/rootfs:latest")]
    Reference(String),
    #[error("{method} {url}: {source}")]
    Http {
        method: &'static str,
        url: String,
        #[source]
        source: reqwest::Error,
    },
    #[error("{method} {url}: the registry answered {status}: {body}{hint}")]
    Status {
        method: &'static str,
        url: String,
        status: StatusCode,
        body: String,
        hint: String,
    },
}

/// Where to push: registry, repository and tag.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reference {
    pub registry: String,
    pub repository: String,
    pub tag: Option<String>,
}

impl Reference {
    /// Parses `HOST[:PORT]/REPO[:TAG]`; without a host (`team/app`), Docker
    /// Hub (`registry-1.docker.io`, `library/` for one-component names).
    pub fn parse(s: &str) -> Result<Reference, PushError> {
        if s.contains('@') {
            return Err(PushError::Reference(format!(
                "`{s}`: pushing to a digest reference is not supported; give a tag"
            )));
        }
        let (first, rest) = match s.split_once('/') {
            Some((h, r))
                if h.contains('.') || h.contains(':') || h == "localhost" || h.starts_with('[') =>
            {
                (h.to_string(), r.to_string())
            }
            _ => ("registry-1.docker.io".to_string(), s.to_string()),
        };
        let (repo, tag) = match rest.rsplit_once(':') {
            Some((r, t)) if !t.contains('/') => (r.to_string(), Some(t.to_string())),
            _ => (rest.clone(), None),
        };
        let repo = if first == "registry-1.docker.io" && !repo.contains('/') {
            format!("library/{repo}")
        } else {
            repo
        };
        if repo.is_empty()
            || !repo
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "._-/".contains(c))
        {
            return Err(PushError::Reference(format!(
                "`{s}`: `{repo}` is not a valid repository name (lower case, digits, . _ - /)"
            )));
        }
        Ok(Reference {
            registry: first,
            repository: repo,
            tag,
        })
    }

    fn loopback(&self) -> bool {
        let host = self
            .registry
            .rsplit_once(':')
            .map_or(self.registry.as_str(), |(h, p)| {
                if p.chars().all(|c| c.is_ascii_digit()) {
                    h
                } else {
                    self.registry.as_str()
                }
            });
        host == "localhost" || host.starts_with("127.") || host == "[::1]"
    }
}

/// How to push.
#[derive(Debug, Clone, Default)]
pub struct PushOptions {
    /// Plain HTTP (and TLS certificates not checked) for any host.
    pub insecure: bool,
    /// User and password for the registry (basic auth, or for the token).
    pub credentials: Option<(String, String)>,
}

/// What was pushed.
#[derive(Debug, Clone)]
pub struct PushReport {
    /// `registry/repository:tag`.
    pub reference: String,
    /// Digest of the manifest (or index) the tag names now.
    pub digest: String,
    pub uploaded: Vec<String>,
    /// Blobs the registry already had.
    pub skipped: Vec<String>,
}

/// A `WWW-Authenticate` challenge: scheme and parameters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Challenge {
    pub scheme: String,
    pub params: Vec<(String, String)>,
}

impl Challenge {
    /// Parses `Bearer realm="https://auth",service="registry",scope="..."`.
    pub fn parse(header: &str) -> Option<Challenge> {
        let header = header.trim();
        let (scheme, rest) = header.split_once(' ').unwrap_or((header, ""));
        let mut params = Vec::new();
        let mut chars = rest.chars().peekable();
        loop {
            while chars.peek().is_some_and(|c| *c == ',' || c.is_whitespace()) {
                chars.next();
            }
            let key: String = chars.by_ref().take_while(|c| *c != '=').collect();
            if key.is_empty() {
                break;
            }
            let mut value = String::new();
            if chars.peek() == Some(&'"') {
                chars.next();
                while let Some(c) = chars.next() {
                    match c {
                        '\\' => value.extend(chars.next()),
                        '"' => break,
                        c => value.push(c),
                    }
                }
            } else {
                while let Some(c) = chars.peek() {
                    if *c == ',' {
                        break;
                    }
                    value.push(*c);
                    chars.next();
                }
            }
            params.push((key.trim().to_ascii_lowercase(), value.trim().to_string()));
        }
        Some(Challenge {
            scheme: scheme.to_ascii_lowercase(),
            params,
        })
    }

    pub fn param(&self, key: &str) -> Option<&str> {
        self.params
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }
}

struct Session {
    http: Client,
    base: String,
    repo: String,
    opts: PushOptions,
    auth: Option<Auth>,
}

enum Auth {
    Basic(String, String),
    Bearer(String),
}

impl Session {
    fn url(&self, path: &str) -> String {
        format!("{}/v2/{}/{path}", self.base, self.repo)
    }

    /// Sends the request `make` builds, following one auth challenge.
    fn send(
        &mut self,
        method: &'static str,
        url: &str,
        make: &dyn Fn(&Client) -> Result<RequestBuilder, PushError>,
    ) -> Result<Response, PushError> {
        for attempt in 0..2 {
            let mut rb = make(&self.http)?;
            rb = match &self.auth {
                Some(Auth::Basic(u, p)) => rb.basic_auth(u, Some(p)),
                Some(Auth::Bearer(t)) => rb.bearer_auth(t),
                None => rb,
            };
            let resp = rb.send().map_err(|source| PushError::Http {
                method,
                url: url.to_string(),
                source,
            })?;
            if resp.status() != StatusCode::UNAUTHORIZED || attempt == 1 {
                return Ok(resp);
            }
            let header = resp
                .headers()
                .get(WWW_AUTHENTICATE)
                .and_then(|h| h.to_str().ok())
                .unwrap_or("")
                .to_string();
            self.authenticate(method, url, &header)?;
        }
        unreachable!("the loop returns on its second attempt")
    }

    fn authenticate(
        &mut self,
        method: &'static str,
        url: &str,
        header: &str,
    ) -> Result<(), PushError> {
        let unauthorized = |hint: &str| PushError::Status {
            method,
            url: url.to_string(),
            status: StatusCode::UNAUTHORIZED,
            body: format!("WWW-Authenticate: {header}"),
            hint: format!("\n  hint: {hint}"),
        };
        let Some(ch) = Challenge::parse(header) else {
            return Err(unauthorized("the registry sent no usable challenge"));
        };
        match ch.scheme.as_str() {
            "basic" => {
                let Some((u, p)) = &self.opts.credentials else {
                    return Err(unauthorized(
                        "set BBSDK_REGISTRY_USER and BBSDK_REGISTRY_PASSWORD",
                    ));
                };
                self.auth = Some(Auth::Basic(u.clone(), p.clone()));
                Ok(())
            }
            "bearer" => {
                let Some(realm) = ch.param("realm") else {
                    return Err(unauthorized("the Bearer challenge has no realm"));
                };
                let scope = ch
                    .param("scope")
                    .map(str::to_string)
                    .unwrap_or_else(|| format!("repository:{}:pull,push", self.repo));
                let mut q: Vec<(&str, String)> = vec![("scope", scope)];
                if let Some(s) = ch.param("service") {
                    q.push(("service", s.to_string()));
                }
                let mut rb = self.http.get(realm).query(&q);
                if let Some((u, p)) = &self.opts.credentials {
                    rb = rb.basic_auth(u, Some(p));
                }
                let resp = rb.send().map_err(|source| PushError::Http {
                    method: "GET",
                    url: realm.to_string(),
                    source,
                })?;
                let status = resp.status();
                let body = resp.text().unwrap_or_default();
                if !status.is_success() {
                    return Err(PushError::Status {
                        method: "GET",
                        url: realm.to_string(),
                        status,
                        body,
                        hint: "\n  hint: check BBSDK_REGISTRY_USER and BBSDK_REGISTRY_PASSWORD"
                            .into(),
                    });
                }
                let v: serde_json::Value = serde_json::from_str(&body).unwrap_or_default();
                let token = v["token"]
                    .as_str()
                    .or_else(|| v["access_token"].as_str())
                    .ok_or_else(|| unauthorized("the token server's answer holds no token"))?;
                self.auth = Some(Auth::Bearer(token.to_string()));
                Ok(())
            }
            other => Err(unauthorized(&format!(
                "authentication scheme `{other}` is not supported (Basic and Bearer are)"
            ))),
        }
    }

    fn check(
        method: &'static str,
        url: &str,
        resp: Response,
        want: &[StatusCode],
    ) -> Result<Response, PushError> {
        if want.contains(&resp.status()) {
            return Ok(resp);
        }
        let status = resp.status();
        let body: String = resp.text().unwrap_or_default().chars().take(500).collect();
        let hint = if status == StatusCode::UNAUTHORIZED || status == StatusCode::FORBIDDEN {
            "\n  hint: check BBSDK_REGISTRY_USER and BBSDK_REGISTRY_PASSWORD".to_string()
        } else {
            String::new()
        };
        Err(PushError::Status {
            method,
            url: url.to_string(),
            status,
            body,
            hint,
        })
    }

    /// Uploads one blob unless the registry has it; true when uploaded.
    fn blob(&mut self, layout: &Path, d: &Descriptor) -> Result<bool, PushError> {
        let digest = d.digest().to_string();
        let url = self.url(&format!("blobs/{digest}"));
        let resp = self.send("HEAD", &url, &|c| Ok(c.head(&url)))?;
        if resp.status().is_success() {
            return Ok(false);
        }
        let url = self.url("blobs/uploads/");
        let resp = self.send("POST", &url, &|c| {
            Ok(c.post(&url).header(CONTENT_LENGTH, "0"))
        })?;
        let resp = Self::check("POST", &url, resp, &[StatusCode::ACCEPTED])?;
        let location = resp
            .headers()
            .get(LOCATION)
            .and_then(|h| h.to_str().ok())
            .unwrap_or("")
            .to_string();
        let location = if location.starts_with('/') {
            format!("{}{location}", self.base)
        } else {
            location
        };
        let sep = if location.contains('?') { '&' } else { '?' };
        let put = format!("{location}{sep}digest={digest}");
        let path: PathBuf = blob_path(layout, &digest);
        let size = d.size();
        let resp = self.send("PUT", &put, &|c| {
            let f = File::open(&path).map_err(|e| {
                PushError::Image(ImageError::Io {
                    path: path.clone(),
                    source: e,
                })
            })?;
            Ok(c.put(&put)
                .header(CONTENT_TYPE, "application/octet-stream")
                .header(CONTENT_LENGTH, size)
                .body(reqwest::blocking::Body::sized(f, size)))
        })?;
        Self::check("PUT", &put, resp, &[StatusCode::CREATED])?;
        Ok(true)
    }

    fn manifest(
        &mut self,
        layout: &Path,
        d: &Descriptor,
        reference: &str,
    ) -> Result<(), PushError> {
        let digest = d.digest().to_string();
        let path = blob_path(layout, &digest);
        let bytes = std::fs::read(&path).map_err(|e| ImageError::Io {
            path: path.clone(),
            source: e,
        })?;
        let url = self.url(&format!("manifests/{reference}"));
        let media = d.media_type().to_string();
        let resp = self.send("PUT", &url, &|c| {
            Ok(c.put(&url)
                .header(CONTENT_TYPE, media.clone())
                .body(bytes.clone()))
        })?;
        Self::check("PUT", &url, resp, &[StatusCode::CREATED, StatusCode::OK])?;
        Ok(())
    }

    fn image(
        &mut self,
        layout: &Path,
        d: &Descriptor,
        reference: &str,
        report: &mut PushReport,
    ) -> Result<(), PushError> {
        let m: ImageManifest = read_json(&blob_path(layout, d.digest().as_ref()))?;
        for b in m.layers().iter().chain(std::iter::once(m.config())) {
            if self.blob(layout, b)? {
                report.uploaded.push(b.digest().to_string());
            } else {
                report.skipped.push(b.digest().to_string());
            }
        }
        self.manifest(layout, d, reference)
    }
}

/// Pushes the image tagged `tag` in the OCI layout `layout` to `dest`
/// (`HOST[:PORT]/REPO[:TAG]`; without a tag, `tag` is used).
pub fn push(
    layout: &Path,
    tag: &str,
    dest: &str,
    opts: &PushOptions,
) -> Result<PushReport, PushError> {
    let r = Reference::parse(dest)?;
    let index: ImageIndex = read_json(&layout.join("index.json")).map_err(|e| {
        PushError::Image(ImageError::Invalid(format!(
            "{e}\n  hint: build the image first (BBSDK_IMAGE_OCI=y, `bbsdk make`)"
        )))
    })?;
    let Some(top) = index
        .manifests()
        .iter()
        .find(|d| {
            d.annotations()
                .as_ref()
                .and_then(|a| a.get(ANNOTATION_REF_NAME))
                .is_some_and(|t| t == tag)
        })
        .cloned()
    else {
        return Err(PushError::Image(ImageError::Invalid(format!(
            "{}: no image tagged `{tag}`",
            layout.display()
        ))));
    };
    let push_tag = r.tag.clone().unwrap_or_else(|| tag.to_string());
    let scheme = if opts.insecure || r.loopback() {
        "http"
    } else {
        "https"
    };
    let http = Client::builder()
        .danger_accept_invalid_certs(opts.insecure)
        .user_agent(concat!("bbsdk/", env!("CARGO_PKG_VERSION")))
        .timeout(std::time::Duration::from_secs(600))
        .build()
        .map_err(|source| PushError::Http {
            method: "CLIENT",
            url: r.registry.clone(),
            source,
        })?;
    let mut s = Session {
        http,
        base: format!("{scheme}://{}", r.registry),
        repo: r.repository.clone(),
        opts: opts.clone(),
        auth: None,
    };
    let mut report = PushReport {
        reference: format!("{}/{}:{push_tag}", r.registry, r.repository),
        digest: top.digest().to_string(),
        uploaded: vec![],
        skipped: vec![],
    };
    match top.media_type() {
        MediaType::ImageIndex => {
            let idx: ImageIndex = read_json(&blob_path(layout, top.digest().as_ref()))?;
            for m in idx.manifests() {
                s.image(layout, m, m.digest().as_ref(), &mut report)?;
            }
            s.manifest(layout, &top, &push_tag)?;
        }
        _ => s.image(layout, &top, &push_tag, &mut report)?,
    }
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn references() {
        let r = Reference::parse("127.0.0.1:5000/bbsdk/rootfs:x").unwrap();
        assert_eq!(
            (r.registry.as_str(), r.repository.as_str(), r.tag.as_deref()),
            ("127.0.0.1:5000", "bbsdk/rootfs", Some("x"))
        );
        assert!(r.loopback());
        let r = Reference::parse("alpine").unwrap();
        assert_eq!(
            (r.registry.as_str(), r.repository.as_str(), r.tag.as_deref()),
            ("registry-1.docker.io", "library/alpine", None)
        );
        assert!(!r.loopback());
        assert!(Reference::parse("reg.example.com/Bad").is_err());
        assert!(Reference::parse("reg.example.com/a@sha256:00").is_err());
    }

    #[test]
    fn challenges() {
        let c = Challenge::parse(
            r#"Bearer realm="https://auth.example.com/token",service="registry.example.com",scope="repository:a/b:pull,push""#,
        )
        .unwrap();
        assert_eq!(c.scheme, "bearer");
        assert_eq!(c.param("realm"), Some("https://auth.example.com/token"));
        assert_eq!(c.param("scope"), Some("repository:a/b:pull,push"));
        assert_eq!(c.param("service"), Some("registry.example.com"));
        let c = Challenge::parse(r#"Basic realm="Registry Realm""#).unwrap();
        assert_eq!(
            (c.scheme.as_str(), c.param("realm")),
            ("basic", Some("Registry Realm"))
        );
    }
}
