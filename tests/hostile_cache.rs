//! Issue 15, item 3, as the hostile case: a flipped bit in a binary-cache
//! archive that still decodes (so only the digest can catch it) is refused,
//! removed and rebuilt; a restore into a full or read-only disk keeps the
//! entry and names the OS error and the path; the fetcher does not retry a
//! full disk.

mod common;
#[path = "support/http.rs"]
mod http;
#[path = "support/tmpfs.rs"]
mod tmpfs;

use std::io::Read;
use std::path::{Path, PathBuf};
use std::time::Duration;

use bbsdk::build::{self, Executor};
use bbsdk::fetch::{sha256_file, FetchError, FetchOptions, Fetcher, Mirrors, Source};
use common::World;
use tmpfs::Tmpfs;

/// Deterministic bytes zstd cannot compress (so it stores them as they are).
fn noise(len: usize) -> Vec<u8> {
    let mut x: u32 = 0x9e37_79b9;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            (x >> 24) as u8
        })
        .collect()
}

const NOISE_LEN: usize = 256 * 1024;

/// A world with one package, `noise`, installing 256 KiB of noise.
fn world() -> World {
    let w = World::empty();
    let file = "noise-1.0.tar.gz";
    let path = w.mirror.join(file);
    {
        let f = std::fs::File::create(&path).unwrap();
        let gz = flate2::write::GzEncoder::new(f, flate2::Compression::fast());
        let mut tar = tar::Builder::new(gz);
        let data = noise(NOISE_LEN);
        let mut h = tar::Header::new_gnu();
        h.set_size(data.len() as u64);
        h.set_mode(0o644);
        h.set_mtime(1_700_000_000);
        h.set_cksum();
        tar.append_data(&mut h, "noise-1.0/noise.bin", &data[..])
            .unwrap();
        tar.into_inner().unwrap().finish().unwrap();
    }
    let sum = sha256_file(&path).unwrap();
    w.recipe(
        "noise",
        &format!(
            "[[source]]\nfile = \"{file}\"\nurls = [\"file://{}\"]\nsha256 = \"{sum}\"\n\n[build]\nsystem = \"generic\"\n\n[build.steps]\ninstall_target = \"install -D -m 644 noise.bin \\\"$TARGET_DIR/usr/share/noise\\\"\"\n",
            path.display()
        ),
    );
    w
}

/// The entry of package `name` and the archive it names.
fn entry_and_blob(w: &World, identity: &str) -> (PathBuf, PathBuf, String) {
    let entry = w.cache.join(format!("entries/{identity}.json"));
    let d: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&entry).unwrap()).unwrap();
    assert_eq!(d["mediaType"], "application/vnd.bbsdk.cache.v2.tar+zstd");
    let hex = d["digest"]
        .as_str()
        .and_then(|s| s.strip_prefix("sha256:"))
        .unwrap()
        .to_string();
    let blob = w.cache.join("blobs/sha256").join(&hex);
    assert_eq!(
        d["size"].as_u64(),
        Some(std::fs::metadata(&blob).unwrap().len())
    );
    (entry, blob, hex)
}

/// Every member of an archive, read to its end: it decodes.
fn decodes(archive: &[u8]) -> Vec<(String, Vec<u8>)> {
    let dec = zstd::stream::read::Decoder::new(archive).unwrap();
    let mut ar = tar::Archive::new(dec);
    let mut out = Vec::new();
    for e in ar.entries().unwrap() {
        let mut e = e.unwrap();
        let name = e.path().unwrap().display().to_string();
        let mut data = Vec::new();
        e.read_to_end(&mut data).unwrap();
        out.push((name, data));
    }
    out
}

#[test]
fn a_flipped_bit_in_a_cache_archive_is_refused_removed_and_rebuilt() {
    let w = world();
    let reg = w.registry();
    let p = w.plan(&reg, &["BBSDK_PACKAGE_NOISE"], &[]);
    let r = w.build(&reg, &p).unwrap();
    assert_eq!(r.built, ["noise"]);
    let id = &p.get("noise").unwrap().identity;
    let (_, blob, hex) = entry_and_blob(&w, id);
    assert_eq!(
        sha256_file(&blob).unwrap(),
        hex,
        "stored under its own digest"
    );

    // One bit flipped inside the stored (incompressible) file data: the
    // archive still decodes, with one byte of the file changed.
    let mut bytes = std::fs::read(&blob).unwrap();
    let data = noise(NOISE_LEN);
    let probe = &data[100_000..100_064];
    let at = bytes
        .windows(probe.len())
        .position(|win| win == probe)
        .expect("zstd stores noise as it is");
    bytes[at + 10] ^= 0x04;
    std::fs::write(&blob, &bytes).unwrap();
    let members = decodes(&bytes);
    let shipped = members
        .iter()
        .find(|(n, _)| n == "target/usr/share/noise")
        .map(|(_, d)| d)
        .unwrap();
    assert_ne!(
        shipped, &data,
        "the damaged archive would ship a corrupt file"
    );

    build::clean(&w.out).unwrap();
    let r = w.build(&reg, &p).unwrap();
    assert!(
        r.from_cache.is_empty(),
        "a damaged entry is never used: {r:?}"
    );
    assert_eq!(r.built, ["noise"], "rebuilt instead");
    assert_eq!(
        std::fs::read(w.out.join("target/usr/share/noise")).unwrap(),
        data
    );
    // The damaged archive is gone; the new entry names a verified one.
    let (_, blob2, hex2) = entry_and_blob(&w, id);
    assert_eq!(sha256_file(&blob2).unwrap(), hex2);
    assert!(
        std::fs::read(&blob2).unwrap() != bytes,
        "the flipped archive is not kept"
    );
    // And the good entry is used again.
    build::clean(&w.out).unwrap();
    let r = w.build(&reg, &p).unwrap();
    assert_eq!(r.from_cache, ["noise"]);
    assert_eq!(
        std::fs::read(w.out.join("target/usr/share/noise")).unwrap(),
        data
    );
}

#[test]
fn a_restore_onto_a_full_or_read_only_disk_keeps_the_entry_and_names_the_error() {
    tmpfs::require_root("a_restore_onto_a_full_or_read_only_disk");
    let w = world();
    let reg = w.registry();
    let p = w.plan(&reg, &["BBSDK_PACKAGE_NOISE"], &[]);
    w.build(&reg, &p).unwrap();
    let id = p.get("noise").unwrap().identity.clone();
    let (entry, blob, hex) = entry_and_blob(&w, &id);

    // A 128 KiB disk cannot hold the 256 KiB file.
    let full = Tmpfs::mount(&w.root.join("full"), "128k", "");
    let e = Executor::new(w.settings(full.path()), &reg, &p, &w.fetcher)
        .build_all()
        .unwrap_err()
        .to_string();
    assert!(e.contains("No space left on device"), "{e}");
    assert!(e.contains(&full.path().display().to_string()), "where: {e}");
    assert!(e.contains("kept"), "{e}");
    assert!(entry.is_file(), "the entry stays");
    assert_eq!(sha256_file(&blob).unwrap(), hex, "the archive stays, whole");
    // The failed restore left nothing behind on the full disk.
    let left: Vec<_> = std::fs::read_dir(full.path().join("per-package"))
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert!(left.is_empty(), "{left:?}");

    // A read-only per-package directory.
    let out = w.root.join("ro-out");
    let ro = Tmpfs::mount(&out.join("per-package"), "1m", "");
    ro.read_only();
    let e = Executor::new(w.settings(&out), &reg, &p, &w.fetcher)
        .build_all()
        .unwrap_err()
        .to_string();
    assert!(e.contains("Read-only file system"), "{e}");
    assert!(e.contains(&ro.path().display().to_string()), "where: {e}");
    assert_eq!(sha256_file(&blob).unwrap(), hex, "the archive stays");
    assert!(entry.is_file());

    // With room, the same entry restores.
    let r = Executor::new(w.settings(&w.root.join("roomy")), &reg, &p, &w.fetcher)
        .build_all()
        .unwrap();
    assert_eq!(r.from_cache, ["noise"]);
}

#[test]
fn the_fetcher_does_not_retry_a_full_disk() {
    let root = tempfile::tempdir().unwrap();
    let dl = Tmpfs::mount(&root.path().join("dl"), "64k", "");
    let srv = http::TestServer::start();
    let data = noise(200 * 1024);
    srv.serve("/big.bin", &data);
    let sum = bbsdk_sha(&data);
    let f = Fetcher::with_options(
        dl.path().to_path_buf(),
        Mirrors {
            debian: false,
            backup: Some(srv.url("/backup")),
            ..Mirrors::default()
        },
        FetchOptions {
            retries: 3,
            backoff: Duration::from_millis(5),
            progress: false,
            ..FetchOptions::default()
        },
    )
    .unwrap();
    let e = f
        .fetch(&Source {
            file_name: "big.bin".into(),
            urls: vec![srv.url("/big.bin")],
            sha256: sum,
            debian: None,
        })
        .unwrap_err();
    let msg = e.to_string();
    assert!(matches!(e, FetchError::Io { .. }), "{msg}");
    assert!(msg.contains("No space left on device"), "{msg}");
    assert!(
        msg.contains(&dl.path().display().to_string()),
        "where: {msg}"
    );
    assert_eq!(srv.hits("/big.bin"), 1, "one try, no retries: {msg}");
    assert_eq!(srv.all_requests().len(), 1, "no other location either");
}

fn bbsdk_sha(data: &[u8]) -> String {
    let dir = tempfile::tempdir().unwrap();
    let p: &Path = &dir.path().join("f");
    std::fs::write(p, data).unwrap();
    sha256_file(p).unwrap()
}
