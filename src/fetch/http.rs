//! The http(s) backend: retries with exponential backoff, resume of `.part`
//! files with Range requests, sha256 computed while downloading.

use std::fs::{self, File, OpenOptions};
use std::io;
use std::path::Path;

use reqwest::header::{CONTENT_RANGE, RANGE};
use reqwest::Url;
use sha2::{Digest, Sha256};

use super::error::error_chain;
use super::{check_part, copy_hashing, Copy, Fetcher, HashWriter, MirrorFailure};

/// How one request went.
enum Outcome {
    /// `part` holds the whole file with the expected sha256.
    Done,
    /// The file is complete but its sha256 is wrong (`part` was removed).
    /// `resumed`: part of it came from an earlier transfer.
    Mismatch {
        failure: MirrorFailure,
        resumed: bool,
    },
    /// The server's answer to our Range request makes no sense: start over.
    Restart(String),
    /// Worth another try (connection error, timeout, interrupted body).
    Transient(String),
    /// HTTP status; `transient` for 408, 429 and 5xx.
    Status { status: u16, transient: bool },
    /// Not worth another try.
    Fatal(MirrorFailure),
}

impl Fetcher {
    /// Downloads `url` into `part` (resuming what is there) and checks it.
    pub(super) fn fetch_http(
        &self,
        url: &Url,
        name: &str,
        part: &Path,
        expected: &str,
    ) -> Result<(), MirrorFailure> {
        let mut tries = 0u32;
        // A resumed transfer that ends with a wrong sha256 (the `.part` came
        // from another, bad mirror or another version of the file) is redone
        // once from scratch; so is a bad answer to a Range request.
        let mut restarted = false;
        loop {
            tries += 1;
            let outcome = self.http_once(url, name, part, expected);
            let transient = match outcome {
                Outcome::Done => return Ok(()),
                Outcome::Mismatch { failure, resumed } => {
                    if resumed && !restarted {
                        restarted = true;
                        tries -= 1;
                        continue;
                    }
                    return Err(failure);
                }
                Outcome::Restart(why) => {
                    let _ = fs::remove_file(part);
                    if restarted {
                        return Err(MirrorFailure::Network {
                            message: why,
                            tries,
                        });
                    }
                    restarted = true;
                    tries -= 1;
                    continue;
                }
                Outcome::Fatal(failure) => return Err(failure),
                Outcome::Status {
                    status,
                    transient: false,
                } => {
                    return Err(if status == 404 || status == 410 {
                        MirrorFailure::NotFound(format!("HTTP status {status}"))
                    } else {
                        MirrorFailure::Status { status, tries }
                    })
                }
                Outcome::Status { status, .. } => MirrorFailure::Status { status, tries },
                Outcome::Transient(message) => MirrorFailure::Network { message, tries },
            };
            if tries > self.options.retries {
                return Err(transient);
            }
            let factor = 1u32.checked_shl(tries - 1).unwrap_or(u32::MAX);
            std::thread::sleep(self.options.backoff.saturating_mul(factor));
        }
    }

    fn http_once(&self, url: &Url, name: &str, part: &Path, expected: &str) -> Outcome {
        // Our own disk: no retry, no other location.
        let io_fatal = |e: io::Error| Outcome::Fatal(MirrorFailure::local(part, &e));
        // What an earlier, interrupted transfer left.
        let existing = match fs::metadata(part) {
            Ok(m) if m.is_file() => m.len(),
            _ => 0,
        };
        let mut hasher = Sha256::new();
        if existing > 0 {
            let hashed =
                File::open(part).and_then(|mut f| io::copy(&mut f, &mut HashWriter(&mut hasher)));
            if let Err(e) = hashed {
                return io_fatal(e);
            }
        }

        let mut request = self.client.get(url.clone());
        if existing > 0 {
            request = request.header(RANGE, format!("bytes={existing}-"));
        }
        let mut response = match request.send() {
            Ok(r) => r,
            // The URL is already in the report: leave it out of the message.
            Err(e) if e.is_builder() => {
                return Outcome::Fatal(MirrorFailure::Unsupported(error_chain(&e.without_url())))
            }
            Err(e) if e.is_redirect() => {
                return Outcome::Fatal(MirrorFailure::Network {
                    message: error_chain(&e.without_url()),
                    tries: 1,
                })
            }
            Err(e) => return Outcome::Transient(error_chain(&e.without_url())),
        };

        let status = response.status().as_u16();
        let (mut file, resumed) = match status {
            206 if existing > 0 => {
                let start = response
                    .headers()
                    .get(CONTENT_RANGE)
                    .and_then(|v| v.to_str().ok())
                    .and_then(content_range_start);
                if start != Some(existing) {
                    return Outcome::Restart(format!(
                        "asked for bytes {existing}- but got Content-Range {:?}",
                        response.headers().get(CONTENT_RANGE)
                    ));
                }
                match OpenOptions::new().append(true).open(part) {
                    Ok(f) => (f, true),
                    Err(e) => return io_fatal(e),
                }
            }
            200 => {
                // Also the answer of a server that ignores Range: start over.
                hasher = Sha256::new();
                match File::create(part) {
                    Ok(f) => (f, false),
                    Err(e) => return io_fatal(e),
                }
            }
            416 if existing > 0 => {
                // Nothing after what we have: maybe the `.part` is complete.
                return match check_part(part, expected, hex::encode(hasher.finalize())) {
                    Ok(()) => Outcome::Done,
                    Err(failure) => Outcome::Mismatch {
                        failure,
                        resumed: true,
                    },
                };
            }
            408 | 429 | 500..=599 => {
                return Outcome::Status {
                    status,
                    transient: true,
                }
            }
            _ => {
                return Outcome::Status {
                    status,
                    transient: false,
                }
            }
        };

        let remaining = response.content_length();
        let bar = self.bar(
            name,
            remaining.map(|r| r + if resumed { existing } else { 0 }),
        );
        if resumed {
            bar.set_position(existing);
        }
        let copied = copy_hashing(&mut response, &mut file, &mut hasher, &bar);
        bar.finish_and_clear();
        let synced = file.sync_all();
        drop(file);
        match copied {
            Ok(n) => {
                if let Some(len) = remaining {
                    if n < len {
                        return Outcome::Transient(format!(
                            "transfer ended after {n} of {len} bytes"
                        ));
                    }
                }
            }
            // The network: what was written stays, so the next try resumes.
            Err(Copy::Read(e)) => {
                return Outcome::Transient(format!("transfer interrupted: {}", error_chain(&e)))
            }
            // Our disk (full, read-only...): trying again cannot help.
            Err(Copy::Write(e)) => return io_fatal(e),
        }
        if let Err(e) = synced {
            return io_fatal(e);
        }
        match check_part(part, expected, hex::encode(hasher.finalize())) {
            Ok(()) => Outcome::Done,
            Err(failure) => Outcome::Mismatch { failure, resumed },
        }
    }
}

/// The first byte of a `Content-Range: bytes <first>-<last>/<len>` header.
fn content_range_start(value: &str) -> Option<u64> {
    let rest = value.trim().strip_prefix("bytes")?.trim_start();
    let (first, _) = rest.split_once('-')?;
    first.trim().parse().ok()
}

#[cfg(test)]
mod tests {
    use super::content_range_start;

    #[test]
    fn parses_content_range() {
        assert_eq!(content_range_start("bytes 100-199/200"), Some(100));
        assert_eq!(content_range_start("bytes 0-0/*"), Some(0));
        assert_eq!(content_range_start("bytes */200"), None);
        assert_eq!(content_range_start("items 1-2/3"), None);
    }
}
