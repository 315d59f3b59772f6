//! `source`, `show-info`, `graph-depends` and `sbom` on a small tree of our own.

use std::path::Path;
use std::process::{Command, Output};

use sha2::{Digest, Sha256};

fn bbsdk(top: &Path, dl: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_bbsdk"))
        .args(args)
        .current_dir(top)
        .env("BBSDK_TOP", top)
        .env("BBSDK_DL_DIR", dl)
        .env("SOURCE_DATE_EPOCH", "1700000000")
        .env_remove("CONFIG_")
        .env_remove("BR2_CONFIG")
        .env_remove("KCONFIG_CONFIG")
        .output()
        .expect("run bbsdk")
}

fn tree(top: &Path, archive_url: &str, sum: &str) {
    std::fs::create_dir_all(top.join("configs")).unwrap();
    std::fs::write(
        top.join("Config.in"),
        "mainmenu \"test\"\nchoice\n\tprompt \"arch\"\nconfig BBSDK_ARCH_X86_64\n\tbool \"x86_64\"\nconfig BBSDK_ARCH_AARCH64\n\tbool \"aarch64\"\nendchoice\nchoice\n\tprompt \"libc\"\nconfig BBSDK_LIBC_MUSL\n\tbool \"musl\"\nconfig BBSDK_LIBC_GLIBC\n\tbool \"glibc\"\nendchoice\nconfig BBSDK_DEBIAN_SOURCE_MIRROR\n\tbool\nconfig BBSDK_IMAGE_NAME\n\tstring \"name\"\n\tdefault \"demo/img\"\nsource \"package/Config.in\"\n",
    )
    .unwrap();
    let pkg = top.join("package");
    std::fs::create_dir_all(pkg.join("hello")).unwrap();
    std::fs::create_dir_all(pkg.join("libgreet")).unwrap();
    std::fs::write(pkg.join("Config.in"), "menu \"Target packages\"\nsource \"package/libgreet/Config.in\"\nsource \"package/hello/Config.in\"\nendmenu\n").unwrap();
    std::fs::write(
        pkg.join("hello/Config.in"),
        "config BBSDK_PACKAGE_HELLO\n\tbool \"hello\"\n\tselect BBSDK_PACKAGE_LIBGREET\n",
    )
    .unwrap();
    std::fs::write(
        pkg.join("libgreet/Config.in"),
        "config BBSDK_PACKAGE_LIBGREET\n\tbool \"libgreet\"\n",
    )
    .unwrap();
    std::fs::write(
        pkg.join("hello/hello.toml"),
        format!("name = \"hello\"\nversion = \"2.0\"\nlicense = \"GPL-2.0-only\"\nlicense_files = [\"COPYING\"]\nhomepage = \"http://example.invalid\"\n\n[[source]]\nfile = \"hello-2.0.tar.gz\"\nurls = [\"{archive_url}\"]\nsha256 = \"{sum}\"\n\n[dependencies]\nbuild = [\"libgreet\", \"host-libgreet\"]\nruntime = [\"libgreet\"]\n\n[build]\nsystem = \"make\"\n"),
    )
    .unwrap();
    std::fs::write(
        pkg.join("libgreet/libgreet.toml"),
        "name = \"libgreet\"\nversion = \"0.1\"\nlicense = \"MIT\"\nvariants = [\"target\", \"host\"]\n\n[build]\nsystem = \"generic\"\nsteps = { build = \"true\" }\n",
    )
    .unwrap();
    std::fs::write(
        top.join("configs/demo_defconfig"),
        "BBSDK_ARCH_AARCH64=y\nBBSDK_PACKAGE_HELLO=y\n",
    )
    .unwrap();
}

#[test]
fn introspection_commands() {
    let top = tempfile::tempdir().unwrap();
    let dl = tempfile::tempdir().unwrap();
    let src = tempfile::tempdir().unwrap();
    let archive = src.path().join("hello-2.0.tar.gz");
    {
        let gz = flate2::write::GzEncoder::new(
            std::fs::File::create(&archive).unwrap(),
            flate2::Compression::default(),
        );
        let mut tar = tar::Builder::new(gz);
        let text = b"Hello license text\n";
        let mut h = tar::Header::new_gnu();
        h.set_size(text.len() as u64);
        h.set_mode(0o644);
        h.set_cksum();
        tar.append_data(&mut h, "hello-2.0/COPYING", &text[..])
            .unwrap();
        tar.into_inner().unwrap().finish().unwrap();
    }
    let sum: String = Sha256::digest(std::fs::read(&archive).unwrap())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    tree(top.path(), &format!("file://{}", archive.display()), &sum);

    let r = bbsdk(top.path(), dl.path(), &["demo_defconfig"]);
    assert!(r.status.success(), "{}", String::from_utf8_lossy(&r.stderr));

    let r = bbsdk(top.path(), dl.path(), &["show-info"]);
    assert!(r.status.success(), "{}", String::from_utf8_lossy(&r.stderr));
    let info: serde_json::Value = serde_json::from_slice(&r.stdout).expect("show-info prints JSON");
    assert_eq!(info["hello"]["version"], "2.0");
    assert_eq!(info["hello"]["license"], "GPL-2.0-only");
    assert_eq!(info["hello"]["sources"][0]["sha256"], sum.as_str());
    assert_eq!(
        info["hello"]["build_dependencies"],
        serde_json::json!(["libgreet", "host-libgreet"])
    );
    assert_eq!(info["hello"]["identity"].as_str().map(str::len), Some(64));
    assert_eq!(info["host-libgreet"]["variant"], "host");

    let r = bbsdk(top.path(), dl.path(), &["graph-depends"]);
    assert!(r.status.success());
    let dot = std::fs::read_to_string(top.path().join("output/graphs/graph-depends.dot")).unwrap();
    assert!(
        dot.contains("\"hello\" -> \"libgreet\";")
            && dot.contains("\"hello\" -> \"host-libgreet\";"),
        "{dot}"
    );

    let r = bbsdk(top.path(), dl.path(), &["sbom"]);
    assert!(r.status.success());
    let sbom: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(top.path().join("output/images/sbom.spdx.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(sbom["spdxVersion"], "SPDX-2.3");
    assert_eq!(sbom["creationInfo"]["created"], "2023-11-14T22:13:20Z");
    let names: Vec<&str> = sbom["packages"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|p| p["name"].as_str())
        .collect();
    assert!(
        names.contains(&"hello")
            && names.contains(&"libgreet")
            && !names.contains(&"host-libgreet"),
        "{names:?}"
    );

    let r = bbsdk(top.path(), dl.path(), &["source"]);
    assert!(r.status.success(), "{}", String::from_utf8_lossy(&r.stderr));
    assert_eq!(
        std::fs::read(dl.path().join("hello-2.0.tar.gz")).unwrap(),
        std::fs::read(&archive).unwrap()
    );
}
