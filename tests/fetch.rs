//! Integration tests of `bbsdk::fetch`: a real HTTP server on 127.0.0.1
//! (tests/support/http.rs), real files, real archives, and one real Debian
//! source package through the host's apt.

#[path = "support/http.rs"]
mod http;

use std::fs;
use std::io::Write;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::time::Duration;

use bbsdk::fetch::{
    extract, sha256_file, Attempt, DebianSource, FetchError, FetchOptions, Fetcher, MirrorFailure,
    Mirrors, Source,
};
use http::{Reply, TestServer};
use sha2::{Digest, Sha256};

// ---------------------------------------------------------------------------
// helpers

fn sha(data: &[u8]) -> String {
    Sha256::digest(data)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Deterministic pseudo-random bytes.
fn body(len: usize, seed: u32) -> Vec<u8> {
    let mut x = seed.wrapping_mul(2_654_435_761).wrapping_add(1);
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            (x >> 24) as u8
        })
        .collect()
}

fn options() -> FetchOptions {
    FetchOptions {
        connect_timeout: Duration::from_secs(5),
        read_timeout: Duration::from_secs(10),
        retries: 3,
        backoff: Duration::from_millis(5),
        progress: false,
        ..FetchOptions::default()
    }
}

fn fetcher(dl: &Path, mirrors: Mirrors) -> Fetcher {
    Fetcher::with_options(dl.to_path_buf(), mirrors, options()).expect("fetcher")
}

fn no_mirrors() -> Mirrors {
    Mirrors {
        debian: false,
        ..Mirrors::default()
    }
}

fn source(name: &str, urls: Vec<String>, data: &[u8]) -> Source {
    Source {
        file_name: name.to_string(),
        urls,
        sha256: sha(data),
        debian: None,
    }
}

fn attempts(err: &FetchError) -> &[Attempt] {
    match err {
        FetchError::AllMirrorsFailed { attempts, .. } => attempts,
        other => panic!("expected AllMirrorsFailed, got {other:?}"),
    }
}

/// A URL on which nothing listens (a port that was just free).
fn refused_url(path: &str) -> String {
    let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = l.local_addr().expect("addr").port();
    drop(l);
    format!("http://127.0.0.1:{port}{path}")
}

fn assert_no_leftovers(dl: &Path, name: &str) {
    assert!(!dl.join(format!("{name}.part")).exists(), "a .part is left");
    let temp: Vec<_> = fs::read_dir(dl)
        .expect("read dl dir")
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with(".debian-src-"))
        .collect();
    assert!(temp.is_empty(), "temp dirs left: {temp:?}");
}

// ---------------------------------------------------------------------------
// downloads

#[test]
fn http_happy_path() {
    let srv = TestServer::start();
    let data = body(300_000, 1);
    srv.serve("/dl/pkg-1.0.tar.gz", &data);
    let dl = tempfile::tempdir().expect("tempdir");
    let f = fetcher(dl.path(), no_mirrors());
    let src = source("pkg-1.0.tar.gz", vec![srv.url("/dl/pkg-1.0.tar.gz")], &data);
    let path = f.fetch(&src).expect("fetch");
    assert_eq!(path, dl.path().join("pkg-1.0.tar.gz"));
    assert_eq!(fs::read(&path).expect("read"), data);
    assert_eq!(srv.hits("/dl/pkg-1.0.tar.gz"), 1);
    assert_eq!(srv.requests("/dl/pkg-1.0.tar.gz")[0].range, None);
    assert_no_leftovers(dl.path(), "pkg-1.0.tar.gz");
}

#[test]
fn bad_checksum_on_first_url_then_good_one() {
    let srv = TestServer::start();
    let data = body(10_000, 2);
    srv.serve("/bad/x.tar", &body(10_000, 99));
    srv.serve("/good/x.tar", &data);
    let dl = tempfile::tempdir().expect("tempdir");
    let f = fetcher(dl.path(), no_mirrors());
    let src = source(
        "x.tar",
        vec![srv.url("/bad/x.tar"), srv.url("/good/x.tar")],
        &data,
    );
    let path = f.fetch(&src).expect("fetch");
    assert_eq!(fs::read(path).expect("read"), data);
    assert_eq!(srv.hits("/bad/x.tar"), 1, "a mismatch is not retried");
    assert_eq!(srv.hits("/good/x.tar"), 1);
    assert_no_leftovers(dl.path(), "x.tar");
}

#[test]
fn not_found_is_not_retried_and_the_next_url_is_used() {
    let srv = TestServer::start();
    let data = body(5_000, 3);
    srv.script("/gone/x.tar", vec![], Reply::Status(404));
    srv.serve("/here/x.tar", &data);
    let dl = tempfile::tempdir().expect("tempdir");
    let f = fetcher(dl.path(), no_mirrors());
    let src = source(
        "x.tar",
        vec![srv.url("/gone/x.tar"), srv.url("/here/x.tar")],
        &data,
    );
    f.fetch(&src).expect("fetch");
    assert_eq!(srv.hits("/gone/x.tar"), 1);
    assert_eq!(srv.hits("/here/x.tar"), 1);
}

#[test]
fn transient_errors_are_retried() {
    let srv = TestServer::start();
    let data = body(5_000, 4);
    srv.script(
        "/flaky/x.tar",
        vec![Reply::Status(503), Reply::Status(429)],
        Reply::File(data.clone()),
    );
    srv.script("/broken/y.tar", vec![], Reply::Status(500));
    let dl = tempfile::tempdir().expect("tempdir");
    let f = fetcher(dl.path(), no_mirrors());

    f.fetch(&source("x.tar", vec![srv.url("/flaky/x.tar")], &data))
        .expect("fetch after two transient errors");
    assert_eq!(srv.hits("/flaky/x.tar"), 3);

    let err = f
        .fetch(&source("y.tar", vec![srv.url("/broken/y.tar")], &data))
        .expect_err("always 500");
    // First try + 3 retries.
    assert_eq!(srv.hits("/broken/y.tar"), 4);
    assert_eq!(
        attempts(&err)[0].failure,
        MirrorFailure::Status {
            status: 500,
            tries: 4
        }
    );
}

#[test]
fn interrupted_transfer_is_resumed_with_a_range_request() {
    let srv = TestServer::start();
    let data = body(200_000, 5);
    srv.script(
        "/x.tar.xz",
        vec![Reply::Cut {
            body: data.clone(),
            after: 70_000,
        }],
        Reply::File(data.clone()),
    );
    let dl = tempfile::tempdir().expect("tempdir");
    let f = fetcher(dl.path(), no_mirrors());
    let path = f
        .fetch(&source("x.tar.xz", vec![srv.url("/x.tar.xz")], &data))
        .expect("fetch");
    assert_eq!(fs::read(path).expect("read"), data);
    let reqs = srv.requests("/x.tar.xz");
    assert_eq!(reqs.len(), 2, "{reqs:?}");
    assert_eq!(reqs[0].range, None);
    assert_eq!(reqs[1].range.as_deref(), Some("bytes=70000-"));
    assert_no_leftovers(dl.path(), "x.tar.xz");
}

#[test]
fn server_ignoring_range_restarts_from_scratch() {
    let srv = TestServer::start();
    let data = body(50_000, 6);
    srv.script("/x.tar", vec![], Reply::FileIgnoringRange(data.clone()));
    let dl = tempfile::tempdir().expect("tempdir");
    // A `.part` of wrong bytes: appending the 200 body to it would be wrong.
    fs::write(dl.path().join("x.tar.part"), body(1_234, 77)).expect("write part");
    let f = fetcher(dl.path(), no_mirrors());
    let path = f
        .fetch(&source("x.tar", vec![srv.url("/x.tar")], &data))
        .expect("fetch");
    assert_eq!(fs::read(path).expect("read"), data);
    let reqs = srv.requests("/x.tar");
    assert_eq!(reqs.len(), 1);
    assert_eq!(reqs[0].range.as_deref(), Some("bytes=1234-"));
}

#[test]
fn stale_part_with_wrong_bytes_is_fetched_again_from_scratch() {
    let srv = TestServer::start();
    let data = body(50_000, 7);
    srv.serve("/x.tar", &data);
    let dl = tempfile::tempdir().expect("tempdir");
    fs::write(dl.path().join("x.tar.part"), body(1_000, 78)).expect("write part");
    let f = fetcher(dl.path(), no_mirrors());
    let path = f
        .fetch(&source("x.tar", vec![srv.url("/x.tar")], &data))
        .expect("fetch");
    assert_eq!(fs::read(path).expect("read"), data);
    let reqs = srv.requests("/x.tar");
    assert_eq!(reqs.len(), 2, "{reqs:?}");
    assert_eq!(reqs[0].range.as_deref(), Some("bytes=1000-"));
    assert_eq!(reqs[1].range, None);
}

#[test]
fn complete_part_is_used_when_the_server_says_range_not_satisfiable() {
    let srv = TestServer::start();
    let data = body(4_000, 8);
    srv.serve("/x.tar", &data);
    let dl = tempfile::tempdir().expect("tempdir");
    fs::write(dl.path().join("x.tar.part"), &data).expect("write part");
    let f = fetcher(dl.path(), no_mirrors());
    let path = f
        .fetch(&source("x.tar", vec![srv.url("/x.tar")], &data))
        .expect("fetch");
    assert_eq!(fs::read(path).expect("read"), data);
    assert_eq!(
        srv.requests("/x.tar")[0].range.as_deref(),
        Some("bytes=4000-")
    );
}

#[test]
fn redirect_is_followed() {
    let srv = TestServer::start();
    let data = body(8_000, 9);
    srv.script("/old/x.tar", vec![], Reply::Redirect(srv.url("/new/x.tar")));
    srv.serve("/new/x.tar", &data);
    let dl = tempfile::tempdir().expect("tempdir");
    let f = fetcher(dl.path(), no_mirrors());
    let path = f
        .fetch(&source("x.tar", vec![srv.url("/old/x.tar")], &data))
        .expect("fetch");
    assert_eq!(fs::read(path).expect("read"), data);
    assert_eq!(srv.hits("/old/x.tar"), 1);
    assert_eq!(srv.hits("/new/x.tar"), 1);
}

// ---------------------------------------------------------------------------
// mirrors

#[test]
fn primary_mirror_is_tried_first() {
    let srv = TestServer::start();
    let data = body(3_000, 10);
    srv.serve("/primary/x.tar", &data);
    srv.serve("/upstream/x.tar", &data);
    let dl = tempfile::tempdir().expect("tempdir");
    let f = fetcher(
        dl.path(),
        Mirrors {
            primary: Some(srv.url("/primary/")),
            ..no_mirrors()
        },
    );
    f.fetch(&source("x.tar", vec![srv.url("/upstream/x.tar")], &data))
        .expect("fetch");
    assert_eq!(srv.hits("/primary/x.tar"), 1);
    assert_eq!(srv.hits("/upstream/x.tar"), 0);
}

#[test]
fn primary_miss_falls_back_to_the_recipe_urls() {
    let srv = TestServer::start();
    let data = body(3_000, 11);
    srv.serve("/upstream/x.tar", &data);
    let dl = tempfile::tempdir().expect("tempdir");
    let f = fetcher(
        dl.path(),
        Mirrors {
            primary: Some(srv.url("/primary")),
            ..no_mirrors()
        },
    );
    f.fetch(&source("x.tar", vec![srv.url("/upstream/x.tar")], &data))
        .expect("fetch");
    assert_eq!(srv.hits("/primary/x.tar"), 1);
    assert_eq!(srv.hits("/upstream/x.tar"), 1);
}

#[test]
fn primary_only_tries_nothing_else() {
    let srv = TestServer::start();
    let data = body(3_000, 12);
    srv.serve("/upstream/x.tar", &data);
    srv.serve("/backup/x.tar", &data);
    let dl = tempfile::tempdir().expect("tempdir");
    let f = fetcher(
        dl.path(),
        Mirrors {
            primary: Some(srv.url("/primary")),
            primary_only: true,
            backup: Some(srv.url("/backup")),
            debian: true,
        },
    );
    let mut src = source("x.tar", vec![srv.url("/upstream/x.tar")], &data);
    src.debian = Some(DebianSource {
        package: "hello".into(),
        ..DebianSource::default()
    });
    let err = f.fetch(&src).expect_err("primary has no file");
    let tried: Vec<&str> = attempts(&err).iter().map(|a| a.location.as_str()).collect();
    assert_eq!(tried, vec![srv.url("/primary/x.tar")]);
    assert_eq!(srv.hits("/upstream/x.tar"), 0);
    assert_eq!(srv.hits("/backup/x.tar"), 0);
}

#[test]
fn backup_mirror_is_tried_last() {
    let srv = TestServer::start();
    let data = body(3_000, 13);
    srv.serve("/backup/x.tar", &data);
    let dl = tempfile::tempdir().expect("tempdir");
    let mirrors = Mirrors {
        backup: Some(srv.url("/backup")),
        ..no_mirrors()
    };
    let f = fetcher(dl.path(), mirrors.clone());
    f.fetch(&source(
        "x.tar",
        vec![srv.url("/up1/x.tar"), srv.url("/up2/x.tar")],
        &data,
    ))
    .expect("fetch");
    let order: Vec<String> = srv.all_requests().into_iter().map(|r| r.path).collect();
    assert_eq!(order, vec!["/up1/x.tar", "/up2/x.tar", "/backup/x.tar"]);

    // When the recipe URL works, the backup is not asked.
    srv.serve("/up/y.tar", &data);
    let dl2 = tempfile::tempdir().expect("tempdir");
    let f = fetcher(dl2.path(), mirrors);
    f.fetch(&source("y.tar", vec![srv.url("/up/y.tar")], &data))
        .expect("fetch");
    assert_eq!(srv.hits("/backup/y.tar"), 0);
}

#[test]
fn file_urls_and_directory_mirrors() {
    let data = body(20_000, 14);
    let store = tempfile::tempdir().expect("tempdir");
    fs::write(store.path().join("x.tar"), &data).expect("write");
    let dead = refused_url("/x.tar");

    // A file:// URL in the recipe.
    let dl = tempfile::tempdir().expect("tempdir");
    let f = fetcher(dl.path(), no_mirrors());
    let url = format!("file://{}", store.path().join("x.tar").display());
    let path = f
        .fetch(&source("x.tar", vec![url], &data))
        .expect("file:// URL");
    assert_eq!(fs::read(path).expect("read"), data);

    // A plain directory as primary mirror: the dead recipe URL is not needed.
    let dl = tempfile::tempdir().expect("tempdir");
    let f = fetcher(
        dl.path(),
        Mirrors {
            primary: Some(store.path().display().to_string()),
            primary_only: true,
            ..no_mirrors()
        },
    );
    let path = f
        .fetch(&source("x.tar", vec![dead.clone()], &data))
        .expect("directory primary");
    assert_eq!(fs::read(path).expect("read"), data);

    // A file:// directory as backup mirror, after a missing local file.
    let dl = tempfile::tempdir().expect("tempdir");
    let f = fetcher(
        dl.path(),
        Mirrors {
            backup: Some(format!("file://{}/", store.path().display())),
            ..no_mirrors()
        },
    );
    let missing = format!("file://{}/nope/x.tar", store.path().display());
    let path = f
        .fetch(&source("x.tar", vec![missing.clone()], &data))
        .expect("file:// backup");
    assert_eq!(fs::read(path).expect("read"), data);

    // A local file with the wrong content is a mismatch like any other.
    let dl = tempfile::tempdir().expect("tempdir");
    let f = fetcher(dl.path(), no_mirrors());
    let wrong = body(20_000, 15);
    let err = f
        .fetch(&source(
            "x.tar",
            vec![format!("file://{}", store.path().join("x.tar").display())],
            &wrong,
        ))
        .expect_err("mismatch");
    assert!(matches!(
        attempts(&err)[0].failure,
        MirrorFailure::ChecksumMismatch { .. }
    ));
    assert!(!dl.path().join("x.tar").exists());
}

#[test]
fn cached_file_is_reverified_and_a_corrupt_one_replaced() {
    let srv = TestServer::start();
    let data = body(40_000, 16);
    srv.serve("/x.tar", &data);
    let dl = tempfile::tempdir().expect("tempdir");
    let f = fetcher(dl.path(), no_mirrors());
    let src = source("x.tar", vec![srv.url("/x.tar")], &data);
    let path = f.fetch(&src).expect("first fetch");
    assert_eq!(srv.hits("/x.tar"), 1);

    // A second Fetcher on the same directory (another output dir) uses the cache.
    let f2 = fetcher(dl.path(), no_mirrors());
    assert_eq!(f2.fetch(&src).expect("cached"), path);
    assert_eq!(srv.hits("/x.tar"), 1);

    // Corrupt it: it is noticed, removed and fetched again.
    let mut file = fs::OpenOptions::new()
        .write(true)
        .open(&path)
        .expect("open cached");
    file.write_all(b"garbage").expect("corrupt");
    drop(file);
    assert_ne!(sha256_file(&path).expect("sha"), src.sha256);
    f.fetch(&src).expect("re-fetch");
    assert_eq!(srv.hits("/x.tar"), 2);
    assert_eq!(fs::read(&path).expect("read"), data);
}

#[test]
fn fetchers_sharing_a_download_dir_fetch_a_file_once() {
    let srv = TestServer::start();
    srv.set_delay(Duration::from_millis(200));
    let data = body(30_000, 21);
    srv.serve("/x.tar", &data);
    let dl = tempfile::tempdir().expect("tempdir");
    let src = source("x.tar", vec![srv.url("/x.tar")], &data);
    // Two fetchers, as two bbsdk processes with different output dirs would
    // have: the per-file lock makes the second wait and find the file cached.
    std::thread::scope(|s| {
        for _ in 0..2 {
            s.spawn(|| {
                let f = fetcher(dl.path(), no_mirrors());
                let path = f.fetch(&src).expect("fetch");
                assert_eq!(fs::read(path).expect("read"), data);
            });
        }
    });
    assert_eq!(srv.hits("/x.tar"), 1);
}

#[test]
fn all_mirrors_failing_names_each_url_and_the_hashes() {
    let srv = TestServer::start();
    let data = body(5_000, 17);
    let wrong = body(5_000, 18);
    srv.serve("/wrong/x.tar", &wrong);
    let dead = refused_url("/x.tar");
    let dl = tempfile::tempdir().expect("tempdir");
    let backup = tempfile::tempdir().expect("tempdir");
    let f = fetcher(
        dl.path(),
        Mirrors {
            backup: Some(backup.path().display().to_string()),
            ..no_mirrors()
        },
    );
    let urls = vec![
        srv.url("/missing/x.tar"),
        srv.url("/wrong/x.tar"),
        dead.clone(),
        "ftp://ftp.invalid/x.tar".to_string(),
    ];
    let err = f
        .fetch(&source("x.tar", urls.clone(), &data))
        .expect_err("nothing has the file");
    let list = attempts(&err);
    let tried: Vec<&str> = list.iter().map(|a| a.location.as_str()).collect();
    let backup_file = backup.path().join("x.tar").display().to_string();
    assert_eq!(
        tried,
        vec![
            urls[0].as_str(),
            urls[1].as_str(),
            urls[2].as_str(),
            urls[3].as_str(),
            backup_file.as_str()
        ]
    );
    assert!(matches!(list[0].failure, MirrorFailure::NotFound(_)));
    assert_eq!(
        list[1].failure,
        MirrorFailure::ChecksumMismatch {
            expected: sha(&data),
            actual: sha(&wrong)
        }
    );
    assert!(matches!(
        list[2].failure,
        MirrorFailure::Network { tries: 4, .. }
    ));
    assert!(matches!(list[3].failure, MirrorFailure::Unsupported(_)));
    assert!(matches!(list[4].failure, MirrorFailure::NotFound(_)));

    let msg = err.to_string();
    for u in urls.iter().chain([&backup_file]) {
        assert!(msg.contains(u.as_str()), "{u} missing from:\n{msg}");
    }
    assert!(msg.contains(&format!("expected {}", sha(&data))), "{msg}");
    assert!(msg.contains(&format!("got {}", sha(&wrong))), "{msg}");
    assert!(msg.contains("404"), "{msg}");
    assert!(!dl.path().join("x.tar").exists());
}

#[test]
fn fetch_all_downloads_concurrently() {
    let srv = TestServer::start();
    srv.set_delay(Duration::from_millis(150));
    let files: Vec<(String, Vec<u8>)> = (0..6)
        .map(|i| (format!("f{i}.tar"), body(20_000 + i * 1000, 100 + i as u32)))
        .collect();
    let mut srcs = Vec::new();
    for (name, data) in &files {
        srv.serve(&format!("/{name}"), data);
        srcs.push(source(name, vec![srv.url(&format!("/{name}"))], data));
    }
    // The same file twice is fetched once.
    srcs.push(srcs[0].clone());
    let dl = tempfile::tempdir().expect("tempdir");
    let f = fetcher(dl.path(), no_mirrors());
    let paths = f.fetch_all(&srcs, 3).expect("fetch_all");
    assert_eq!(paths.len(), 7);
    for (i, (name, data)) in files.iter().enumerate() {
        assert_eq!(paths[i], dl.path().join(name));
        assert_eq!(&fs::read(&paths[i]).expect("read"), data);
        assert_eq!(srv.hits(&format!("/{name}")), 1);
    }
    assert_eq!(paths[6], paths[0]);
    let max = srv.max_in_flight();
    assert!((2..=3).contains(&max), "max in flight {max}");
}

#[test]
fn fetch_all_reports_every_failure_and_conflicts() {
    let srv = TestServer::start();
    let data = body(1_000, 19);
    srv.serve("/ok.tar", &data);
    let dl = tempfile::tempdir().expect("tempdir");
    let f = fetcher(dl.path(), no_mirrors());
    let srcs = vec![
        source("ok.tar", vec![srv.url("/ok.tar")], &data),
        source("a.tar", vec![srv.url("/a.tar")], &data),
        source("b.tar", vec![srv.url("/b.tar")], &data),
    ];
    match f.fetch_all(&srcs, 2) {
        Err(FetchError::Several(errs)) => {
            assert_eq!(errs.len(), 2);
            let msg = FetchError::Several(errs).to_string();
            assert!(msg.contains("/a.tar") && msg.contains("/b.tar"), "{msg}");
        }
        other => panic!("expected Several, got {other:?}"),
    }
    assert!(
        dl.path().join("ok.tar").exists(),
        "the good file is fetched"
    );

    let mut other = srcs[0].clone();
    other.sha256 = sha(b"something else");
    assert!(matches!(
        f.fetch_all(&[srcs[0].clone(), other], 2),
        Err(FetchError::ConflictingSources { .. })
    ));
}

#[test]
fn invalid_sources_are_errors() {
    let dl = tempfile::tempdir().expect("tempdir");
    let f = fetcher(dl.path(), no_mirrors());
    let mut src = source("../x.tar", vec![], b"x");
    assert!(matches!(
        f.fetch(&src),
        Err(FetchError::InvalidFileName { .. })
    ));
    src.file_name = "x.tar".into();
    src.sha256 = "not-a-hash".into();
    assert!(matches!(
        f.fetch(&src),
        Err(FetchError::InvalidSha256 { .. })
    ));
    src.sha256 = sha(b"x");
    let err = f.fetch(&src).expect_err("no location");
    assert!(attempts(&err).is_empty());
    assert!(err.to_string().contains("no location to try"), "{err}");
}

// ---------------------------------------------------------------------------
// Debian source packages

/// `hello` 2.10-3 (Debian bookworm): `apt-cache showsrc hello`, Checksums-Sha256.
const HELLO_VERSION: &str = "2.10-3";
const HELLO_ORIG: &str = "hello_2.10.orig.tar.gz";
const HELLO_ORIG_SHA256: &str = "31e066137a962676e89f69d1b65382de95a7ef7d914b8cb956f41ea72e0f516b";

fn hello(file_name: &str, sha256: &str) -> Source {
    Source {
        file_name: file_name.into(),
        urls: vec![],
        sha256: sha256.into(),
        debian: Some(DebianSource {
            package: "hello".into(),
            version: Some(HELLO_VERSION.into()),
            file: None,
        }),
    }
}

#[test]
fn debian_backend_fetches_the_orig_tarball_of_hello() {
    let dl = tempfile::tempdir().expect("tempdir");
    let f = fetcher(dl.path(), Mirrors::default());
    // Cached under the recipe's name, not Debian's.
    let path = match f.fetch(&hello("hello-2.10.tar.gz", HELLO_ORIG_SHA256)) {
        Ok(p) => p,
        Err(e) => panic!(
            "fetching {HELLO_ORIG} through `apt-get source` failed. If deb-src is not \
             configured, run scripts/setup-debian-src.sh (as root) and try again.\n{e}"
        ),
    };
    assert_eq!(path, dl.path().join("hello-2.10.tar.gz"));
    assert_eq!(sha256_file(&path).expect("sha"), HELLO_ORIG_SHA256);
    assert_no_leftovers(dl.path(), "hello-2.10.tar.gz");

    // It is checked like any other mirror, and it names the package it tried.
    let dl = tempfile::tempdir().expect("tempdir");
    let f = fetcher(dl.path(), Mirrors::default());
    let wrong = sha(b"not hello");
    let err = f.fetch(&hello(HELLO_ORIG, &wrong)).expect_err("wrong sha");
    let list = attempts(&err);
    assert_eq!(list.len(), 1);
    assert_eq!(
        list[0].location,
        format!("apt-get source hello={HELLO_VERSION}")
    );
    assert_eq!(
        list[0].failure,
        MirrorFailure::ChecksumMismatch {
            expected: wrong,
            actual: HELLO_ORIG_SHA256.into()
        }
    );
    assert_no_leftovers(dl.path(), HELLO_ORIG);
}

/// nginx in Debian 12: the archive reachable here serves the `.orig` but
/// not the newest `.debian.tar`, so `apt-get source` exits with an error
/// after downloading what bbsdk needs; the orig is used (and checked).
#[test]
fn debian_backend_uses_the_orig_when_apt_misses_other_files() {
    let dl = tempfile::tempdir().expect("tempdir");
    let f = fetcher(dl.path(), Mirrors::default());
    let nginx = Source {
        file_name: "nginx-1.22.1.tar.gz".into(),
        urls: vec![],
        sha256: "9ebb333a9e82b952acd3e2b4aeb1d4ff6406f72491bab6cd9fe69f0dea737f31".into(),
        debian: Some(DebianSource {
            package: "nginx".into(),
            version: None,
            file: None,
        }),
    };
    let path = f
        .fetch(&nginx)
        .unwrap_or_else(|e| panic!("nginx's orig through apt-get source: {e}"));
    assert_eq!(sha256_file(&path).expect("sha"), nginx.sha256);
    assert_no_leftovers(dl.path(), "nginx-1.22.1.tar.gz");
}

#[test]
fn debian_backend_without_apt_is_a_mirror_failure() {
    let dl = tempfile::tempdir().expect("tempdir");
    let f = Fetcher::with_options(
        dl.path().to_path_buf(),
        Mirrors::default(),
        FetchOptions {
            apt_get: PathBuf::from("/nonexistent/apt-get"),
            ..options()
        },
    )
    .expect("fetcher");
    let err = f
        .fetch(&hello(HELLO_ORIG, HELLO_ORIG_SHA256))
        .expect_err("no apt-get");
    let list = attempts(&err);
    assert_eq!(list.len(), 1);
    assert!(
        matches!(&list[0].failure, MirrorFailure::Debian(m) if m.contains("not found")),
        "{err}"
    );

    // Mirrors::debian = false: the backend is not even tried.
    let f = fetcher(dl.path(), no_mirrors());
    let err = f
        .fetch(&hello(HELLO_ORIG, HELLO_ORIG_SHA256))
        .expect_err("nothing to try");
    assert!(attempts(&err).is_empty());
}

// ---------------------------------------------------------------------------
// extraction

const MTIME: u64 = 1_000_000_000;

/// The regular files of the sample tree: path, mode, content.
const SAMPLE_FILES: [(&str, u32, &[u8]); 3] = [
    ("pkg-1.0/README", 0o644, b"hello\n"),
    ("pkg-1.0/src/main.c", 0o644, b"int main(void){return 0;}\n"),
    ("pkg-1.0/bin/run.sh", 0o755, b"#!/bin/sh\necho hi\n"),
];

/// pkg-1.0/{README, src/main.c, bin/run.sh (0755), empty/, link -> README}
fn sample_tar() -> Vec<u8> {
    let mut b = tar::Builder::new(Vec::new());
    let mut dir = |path: &str| {
        let mut h = tar::Header::new_gnu();
        h.set_entry_type(tar::EntryType::Directory);
        h.set_mode(0o755);
        h.set_mtime(MTIME);
        h.set_size(0);
        h.set_path(path).expect("path");
        h.set_cksum();
        b.append(&h, &[][..]).expect("append dir");
    };
    dir("pkg-1.0/");
    dir("pkg-1.0/empty/");
    let mut b = b;
    for (path, mode, data) in SAMPLE_FILES {
        let mut h = tar::Header::new_gnu();
        h.set_mode(mode);
        h.set_mtime(MTIME);
        h.set_size(data.len() as u64);
        h.set_path(path).expect("path");
        h.set_cksum();
        b.append(&h, data).expect("append file");
    }
    let mut h = tar::Header::new_gnu();
    h.set_entry_type(tar::EntryType::Symlink);
    h.set_mode(0o777);
    h.set_mtime(MTIME);
    h.set_size(0);
    h.set_path("pkg-1.0/link").expect("path");
    h.set_link_name("README").expect("link");
    h.set_cksum();
    b.append(&h, &[][..]).expect("append link");
    b.into_inner().expect("finish tar")
}

fn sample_zip() -> Vec<u8> {
    use zip::write::SimpleFileOptions;
    let mut w = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let t = zip::DateTime::from_date_and_time(2001, 9, 9, 1, 46, 40).expect("date");
    let opts = SimpleFileOptions::default().last_modified_time(t);
    w.add_directory("pkg-1.0/", opts.unix_permissions(0o755))
        .expect("dir");
    w.add_directory("pkg-1.0/empty/", opts.unix_permissions(0o755))
        .expect("dir");
    for (path, mode, data) in SAMPLE_FILES {
        w.start_file(path, opts.unix_permissions(mode))
            .expect("start file");
        w.write_all(data).expect("write");
    }
    w.add_symlink("pkg-1.0/link", "README", opts)
        .expect("symlink");
    w.finish().expect("finish zip").into_inner()
}

fn compressed(name: &str, tar: &[u8]) -> Vec<u8> {
    use std::io::Write as _;
    if name.ends_with(".tar.gz") || name.ends_with(".tgz") {
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        e.write_all(tar).expect("gz");
        e.finish().expect("gz")
    } else if name.ends_with(".tar.bz2") {
        let mut e = bzip2::write::BzEncoder::new(Vec::new(), bzip2::Compression::default());
        e.write_all(tar).expect("bz2");
        e.finish().expect("bz2")
    } else if name.ends_with(".tar.xz") {
        let mut e = xz2::write::XzEncoder::new(Vec::new(), 6);
        e.write_all(tar).expect("xz");
        e.finish().expect("xz")
    } else if name.ends_with(".tar.zst") {
        zstd::encode_all(tar, 3).expect("zstd")
    } else {
        tar.to_vec()
    }
}

/// The sample tree, extracted with strip_components = 1, is at `dest`.
fn assert_sample(dest: &Path, expect_mtime: u64) {
    assert_eq!(fs::read(dest.join("README")).expect("README"), b"hello\n");
    assert!(dest.join("src/main.c").is_file());
    assert!(dest.join("empty").is_dir());
    let run = fs::metadata(dest.join("bin/run.sh")).expect("run.sh");
    assert_eq!(run.permissions().mode() & 0o777, 0o755);
    let readme = fs::metadata(dest.join("README")).expect("README");
    assert_eq!(readme.permissions().mode() & 0o777, 0o644);
    assert_eq!(readme.mtime() as u64, expect_mtime);
    assert_eq!(
        fs::read_link(dest.join("link")).expect("link"),
        PathBuf::from("README")
    );
    assert_eq!(
        fs::read(dest.join("link")).expect("through link"),
        b"hello\n"
    );
    let top = fs::metadata(dest).expect("dest");
    assert_eq!(top.permissions().mode() & 0o777, 0o755);
}

#[test]
fn extracts_every_archive_format() {
    let work = tempfile::tempdir().expect("tempdir");
    let tar = sample_tar();
    for name in [
        "a.tar.gz",
        "a.tgz",
        "a.tar.bz2",
        "a.tar.xz",
        "a.tar.zst",
        "a.tar",
    ] {
        let archive = work.path().join(name);
        fs::write(&archive, compressed(name, &tar)).expect("write archive");
        let dest = work.path().join(format!("out-{name}"));
        extract(&archive, &dest, 1).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_sample(&dest, MTIME);
    }
    let archive = work.path().join("a.zip");
    fs::write(&archive, sample_zip()).expect("write zip");
    let dest = work.path().join("out-zip");
    extract(&archive, &dest, 1).expect("zip");
    assert_sample(&dest, 1_000_000_000);

    // Made by the host's tar, recognised by content whatever its name.
    let tree = work.path().join("out-a.tar.gz");
    let host = work.path().join("host-made.bin");
    let status = std::process::Command::new("tar")
        .arg("-C")
        .arg(&tree)
        .arg("-cJf")
        .arg(&host)
        .arg(".")
        .status()
        .expect("run tar");
    assert!(status.success());
    let dest = work.path().join("out-host");
    extract(&host, &dest, 1).expect("host tar.xz");
    assert_sample(&dest, MTIME);

    // Not an archive.
    let junk = work.path().join("junk.bin");
    fs::write(&junk, body(1_000, 20)).expect("write");
    assert!(matches!(
        extract(&junk, &work.path().join("out-junk"), 0),
        Err(FetchError::UnsupportedArchive { .. })
    ));
}

#[test]
fn strip_components_drops_leading_directories() {
    let work = tempfile::tempdir().expect("tempdir");
    let archive = work.path().join("a.tar.gz");
    fs::write(&archive, compressed("a.tar.gz", &sample_tar())).expect("write");

    let dest0 = work.path().join("s0");
    extract(&archive, &dest0, 0).expect("strip 0");
    assert!(dest0.join("pkg-1.0/src/main.c").is_file());

    let dest2 = work.path().join("s2");
    extract(&archive, &dest2, 2).expect("strip 2");
    let mut names: Vec<String> = fs::read_dir(&dest2)
        .expect("read")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    // README, link and the directories themselves had nothing left.
    assert_eq!(names, vec!["main.c", "run.sh"]);
}

/// A tar with raw header names (no validation by the tar crate).
fn raw_tar(entries: &[(&str, tar::EntryType, &str, &[u8])]) -> Vec<u8> {
    let mut out = Vec::new();
    for (name, kind, link, data) in entries {
        let mut h = tar::Header::new_old();
        {
            let old = h.as_old_mut();
            old.name[..name.len()].copy_from_slice(name.as_bytes());
            old.linkname[..link.len()].copy_from_slice(link.as_bytes());
        }
        h.set_entry_type(*kind);
        h.set_mode(0o644);
        h.set_mtime(MTIME);
        h.set_size(data.len() as u64);
        h.set_cksum();
        out.extend_from_slice(h.as_bytes());
        out.extend_from_slice(data);
        out.resize(out.len().div_ceil(512) * 512, 0);
    }
    out.resize(out.len() + 1024, 0);
    out
}

/// Extraction of `tar` into `<dir>/dest` fails as unsafe and leaves nothing.
fn assert_rejected(tar: Vec<u8>, reason_part: &str) {
    let work = tempfile::tempdir().expect("tempdir");
    let archive = work.path().join("evil.tar");
    fs::write(&archive, tar).expect("write");
    let parent = work.path().join("build");
    fs::create_dir(&parent).expect("mkdir");
    let dest = parent.join("pkg");
    match extract(&archive, &dest, 0) {
        Err(e @ FetchError::UnsafeEntry { .. }) => {
            assert!(e.to_string().contains(reason_part), "{e}")
        }
        other => panic!("expected UnsafeEntry ({reason_part}), got {other:?}"),
    }
    assert!(!dest.exists(), "a failed extraction left {dest:?}");
    let left: Vec<_> = fs::read_dir(&parent).expect("read").collect();
    assert!(left.is_empty(), "left behind: {left:?}");
}

#[test]
fn path_escaping_archives_are_refused() {
    use tar::EntryType::{Link, Regular, Symlink};
    let outside = tempfile::tempdir().expect("tempdir");
    let target = outside.path().display().to_string();

    assert_rejected(
        raw_tar(&[
            ("pkg/ok", Regular, "", b"ok"),
            ("pkg/../../evil", Regular, "", b"x"),
        ]),
        "'..'",
    );
    assert_rejected(
        raw_tar(&[("/tmp/bbsdk-evil-abs", Regular, "", b"x")]),
        "absolute",
    );
    // A symlink to outside, then a file written through it.
    assert_rejected(
        raw_tar(&[
            ("pkg/esc", Symlink, &target, b""),
            ("pkg/esc/pwned", Regular, "", b"x"),
        ]),
        "symlink pkg/esc",
    );
    assert!(!outside.path().join("pwned").exists());
    // The same with a relative symlink climbing out.
    assert_rejected(
        raw_tar(&[
            ("pkg/up", Symlink, "../../../../../../../../../../tmp", b""),
            ("pkg/up/bbsdk-pwned", Regular, "", b"x"),
        ]),
        "points outside",
    );
    assert_rejected(
        raw_tar(&[("pkg/passwd", Link, "../../etc/passwd", b"")]),
        "hard link",
    );

    // A zip entry with '..'.
    let mut w = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    w.start_file("../evil.txt", zip::write::SimpleFileOptions::default())
        .expect("start");
    w.write_all(b"x").expect("write");
    let zip_bytes = w.finish().expect("finish").into_inner();
    let work = tempfile::tempdir().expect("tempdir");
    let archive = work.path().join("evil.zip");
    fs::write(&archive, zip_bytes).expect("write");
    assert!(matches!(
        extract(&archive, &work.path().join("pkg"), 0),
        Err(FetchError::UnsafeEntry { .. })
    ));
    assert!(!work.path().join("evil.txt").exists());
}

#[test]
fn symlinks_are_kept_but_never_written_through() {
    use tar::EntryType::{Regular, Symlink};
    let outside = tempfile::tempdir().expect("tempdir");
    let victim = outside.path().join("victim");
    fs::write(&victim, b"original").expect("write");
    let victim_s = victim.display().to_string();
    let work = tempfile::tempdir().expect("tempdir");
    let archive = work.path().join("a.tar");
    fs::write(
        &archive,
        raw_tar(&[
            // An absolute symlink is fine as long as nothing goes through it...
            ("pkg/abs", Symlink, "/usr/lib", b""),
            // ...and a regular file of the same name replaces the link.
            ("pkg/f", Symlink, &victim_s, b""),
            ("pkg/f", Regular, "", b"new"),
            // A symlink to a directory inside may be written through.
            ("pkg/real/.keep", Regular, "", b""),
            ("pkg/alias", Symlink, "real", b""),
            ("pkg/alias/x", Regular, "", b"x"),
        ]),
    )
    .expect("write archive");
    let dest = work.path().join("out");
    extract(&archive, &dest, 1).expect("extract");
    assert_eq!(fs::read(&victim).expect("victim"), b"original");
    assert_eq!(fs::read(dest.join("f")).expect("f"), b"new");
    assert!(!fs::symlink_metadata(dest.join("f"))
        .expect("meta")
        .file_type()
        .is_symlink());
    assert_eq!(
        fs::read_link(dest.join("abs")).expect("abs"),
        Path::new("/usr/lib")
    );
    assert_eq!(fs::read(dest.join("real/x")).expect("real/x"), b"x");
}

#[test]
fn failed_extraction_leaves_nothing_and_dest_must_be_free() {
    let work = tempfile::tempdir().expect("tempdir");
    let full = compressed("a.tar.gz", &sample_tar());
    let archive = work.path().join("cut.tar.gz");
    fs::write(&archive, &full[..full.len() / 2]).expect("write");
    let parent = work.path().join("build");
    let dest = parent.join("pkg");
    assert!(matches!(
        extract(&archive, &dest, 1),
        Err(FetchError::Archive { .. })
    ));
    assert!(!dest.exists());
    assert_eq!(fs::read_dir(&parent).expect("read").count(), 0);

    let good = work.path().join("good.tar.gz");
    fs::write(&good, &full).expect("write");
    // An empty directory may be the destination; a non-empty one may not.
    fs::create_dir(&dest).expect("mkdir");
    extract(&good, &dest, 1).expect("into an empty dir");
    assert!(matches!(
        extract(&good, &dest, 1),
        Err(FetchError::DestinationExists { .. })
    ));
}
