//! Issue 15, items 1 and 2, as the hostile case: a recipe whose license
//! files are an absolute path, a `..` path or a symlink out of its source
//! archive, and a recipe whose version, subdir, file names or Debian names
//! would lead outside. Nothing outside is read or written; every refusal
//! names the recipe's file and line.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use common::World;

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

/// A minimal bbsdk tree with one package, `evil`, whose recipe is `recipe`.
fn tree(top: &Path, recipe: &str) {
    std::fs::create_dir_all(top.join("configs")).unwrap();
    std::fs::create_dir_all(top.join("package/evil")).unwrap();
    std::fs::write(
        top.join("Config.in"),
        "mainmenu \"test\"\nchoice\n\tprompt \"arch\"\nconfig BBSDK_ARCH_X86_64\n\tbool \"x86_64\"\nendchoice\nchoice\n\tprompt \"libc\"\nconfig BBSDK_LIBC_GLIBC\n\tbool \"glibc\"\nendchoice\nconfig BBSDK_DEBIAN_SOURCE_MIRROR\n\tbool\nsource \"package/Config.in\"\n",
    )
    .unwrap();
    std::fs::write(
        top.join("package/Config.in"),
        "source \"package/evil/Config.in\"\n",
    )
    .unwrap();
    std::fs::write(
        top.join("package/evil/Config.in"),
        "config BBSDK_PACKAGE_EVIL\n\tbool \"evil\"\n",
    )
    .unwrap();
    std::fs::write(top.join("package/evil/evil.toml"), recipe).unwrap();
    std::fs::write(
        top.join("configs/evil_defconfig"),
        "BBSDK_ARCH_X86_64=y\nBBSDK_PACKAGE_EVIL=y\n",
    )
    .unwrap();
}

/// A source archive with a real COPYING and LICENSE files that are
/// symlinks out of the tree (absolute and relative); its `[[source]]`.
fn hostile_archive(dir: &Path, secret: &Path) -> String {
    let path = dir.join("evil-1.0.tar.gz");
    let gz = flate2::write::GzEncoder::new(
        std::fs::File::create(&path).unwrap(),
        flate2::Compression::fast(),
    );
    let mut tar = tar::Builder::new(gz);
    let mut h = tar::Header::new_gnu();
    h.set_size(8);
    h.set_mode(0o644);
    h.set_cksum();
    tar.append_data(&mut h, "evil-1.0/COPYING", &b"the MIT\n"[..])
        .unwrap();
    let up = "../".repeat(secret.components().count() + 4);
    let rel = format!(
        "{up}{}",
        secret.display().to_string().trim_start_matches('/')
    );
    for (name, target) in [
        ("LICENSE", secret.display().to_string()),
        ("LICENSE.rel", rel),
    ] {
        let mut h = tar::Header::new_gnu();
        h.set_entry_type(tar::EntryType::Symlink);
        h.set_size(0);
        h.set_mode(0o777);
        h.set_cksum();
        tar.append_link(&mut h, format!("evil-1.0/{name}"), &target)
            .unwrap();
    }
    tar.into_inner().unwrap().finish().unwrap();
    let sum = bbsdk::fetch::sha256_file(&path).unwrap();
    format!(
        "[[source]]\nfile = \"evil-1.0.tar.gz\"\nurls = [\"file://{}\"]\nsha256 = \"{sum}\"\n",
        path.display()
    )
}

/// Every file below `dir` whose content contains `needle`.
fn files_containing(dir: &Path, needle: &[u8]) -> Vec<PathBuf> {
    let mut found = Vec::new();
    for e in walkdir::WalkDir::new(dir).follow_links(false) {
        let e = e.unwrap();
        if e.file_type().is_file() {
            let data = std::fs::read(e.path()).unwrap();
            if data.windows(needle.len()).any(|w| w == needle) {
                found.push(e.path().to_path_buf());
            }
        }
    }
    found
}

fn recipe(license_files: &str, source: &str) -> String {
    format!(
        "name = \"evil\"\nversion = \"1.0\"\nlicense = \"MIT\"\nlicense_files = {license_files}\n{source}\n[build]\nsystem = \"generic\"\nsteps = {{ build = \"true\" }}\n"
    )
}

#[test]
fn legal_info_reads_and_writes_nothing_outside_the_source_tree() {
    let root = tempfile::tempdir().unwrap();
    let top = root.path().join("top");
    let dl = root.path().join("dl");
    let outside = root.path().join("outside");
    std::fs::create_dir_all(&outside).unwrap();
    let secret = outside.join("secret.txt");
    std::fs::write(&secret, "TOP SECRET\n").unwrap();
    let victim = outside.join("victim.txt");
    std::fs::write(&victim, "precious\n").unwrap();
    let before = std::fs::metadata(&victim).unwrap().modified().unwrap();
    let source = hostile_archive(root.path(), &secret);

    tree(&top, &recipe("[\"COPYING\"]", &source));
    let r = bbsdk(&top, &dl, &["evil_defconfig"]);
    assert!(r.status.success(), "{}", String::from_utf8_lossy(&r.stderr));
    // The honest recipe works.
    let r = bbsdk(&top, &dl, &["legal-info"]);
    assert!(r.status.success(), "{}", String::from_utf8_lossy(&r.stderr));
    let legal = top.join("output/legal-info");
    assert_eq!(
        std::fs::read_to_string(legal.join("licenses/evil-1.0/COPYING")).unwrap(),
        "the MIT\n"
    );

    let recipe_file = top.join("package/evil/evil.toml");
    let cases = [
        // (license_files, what the error says)
        (format!("[\"{}\"]", victim.display()), "is absolute"),
        ("[\"../../outside/victim.txt\"]".to_string(), "`..`"),
        (
            "[\"COPYING\", \"LICENSE\"]".to_string(),
            "outside the package's source tree",
        ),
        (
            "[\"LICENSE.rel\"]".to_string(),
            "outside the package's source tree",
        ),
    ];
    for (files, why) in &cases {
        std::fs::write(&recipe_file, recipe(files, &source)).unwrap();
        let r = bbsdk(&top, &dl, &["legal-info"]);
        let err = String::from_utf8_lossy(&r.stderr);
        assert!(!r.status.success(), "{files}: must fail\n{err}");
        assert!(
            err.contains(&format!("{}:4:", recipe_file.display())),
            "{files}: names the recipe's file:line\n{err}"
        );
        assert!(err.contains(why), "{files}: {why}\n{err}");
        assert!(err.contains("hint:"), "{err}");
        // Nothing outside written, nothing secret read into the output.
        assert_eq!(std::fs::read_to_string(&victim).unwrap(), "precious\n");
        assert_eq!(
            std::fs::metadata(&victim).unwrap().modified().unwrap(),
            before
        );
        assert_eq!(std::fs::read_to_string(&secret).unwrap(), "TOP SECRET\n");
        assert!(
            files_containing(&top.join("output"), b"TOP SECRET").is_empty(),
            "{files}: the secret leaked"
        );
        // The earlier legal-info stays as it was; no temporary is left.
        assert!(legal.join("licenses/evil-1.0/COPYING").is_file());
        assert!(!top.join("output/.legal-info.tmp").exists());
    }
}

#[test]
fn path_values_of_a_recipe_are_refused_with_file_and_line() {
    let root = tempfile::tempdir().unwrap();
    let top = root.path().join("top");
    let dl = root.path().join("dl");
    // What `version = "x/../../../victim"` would reach from output/build/.
    let victim = top.join("victim");
    std::fs::create_dir_all(&victim).unwrap();
    std::fs::write(victim.join("keep"), "mine\n").unwrap();
    let good = "name = \"evil\"\nversion = \"1.0\"\nlicense = \"MIT\"\n\n[build]\nsystem = \"generic\"\nsteps = { build = \"true\" }\n";
    tree(&top, good);
    let r = bbsdk(&top, &dl, &["evil_defconfig"]);
    assert!(r.status.success(), "{}", String::from_utf8_lossy(&r.stderr));

    let sum = "0".repeat(64);
    let cases: Vec<(String, usize, &str)> = vec![
        (good.replace("\"1.0\"", "\"x/../../../victim\""), 2, "version"),
        (good.replace("\"1.0\"", "\"..\""), 2, "version"),
        (good.replace("\"1.0\"", "\"\""), 2, "version"),
        (good.replace("system = \"generic\"", "system = \"generic\"\nsubdir = \"../..\""), 7, "build.subdir"),
        (good.replace("system = \"generic\"", "system = \"generic\"\nsubdir = \"/etc\""), 7, "build.subdir"),
        (
            format!("{good}\n[[source]]\nfile = \"../../x.tar.gz\"\nurls = [\"file:///x\"]\nsha256 = \"{sum}\"\n"),
            10,
            "source.file",
        ),
        (
            format!("{good}\n[[source]]\nfile = \"x.tar.gz\"\nsha256 = \"{sum}\"\ndebian = {{ package = \"-oDir=/tmp\" }}\n"),
            12,
            "source.debian.package",
        ),
        (
            good.replace("system = \"generic\"", "system = \"kconfig\"\nkconfig = { config_symbol = \"X\", kconfig_file = \"../../Config.in\" }"),
            7,
            "build.kconfig.kconfig_file",
        ),
    ];
    let recipe_file = top.join("package/evil/evil.toml");
    for (text, line, field) in &cases {
        std::fs::write(&recipe_file, text).unwrap();
        for args in [
            &["make", "evil-dirclean"][..],
            &["show-info"],
            &["legal-info"],
        ] {
            let r = bbsdk(&top, &dl, args);
            let err = String::from_utf8_lossy(&r.stderr);
            assert!(!r.status.success(), "{field} {args:?}: must fail\n{err}");
            assert!(
                err.contains(&format!(
                    "{}:{line}: field `{field}`",
                    recipe_file.display()
                )),
                "{field} {args:?}: names file:line\n{err}"
            );
            assert!(err.contains("hint:"), "{err}");
        }
        assert_eq!(
            std::fs::read_to_string(victim.join("keep")).unwrap(),
            "mine\n"
        );
    }

    // A patch that is a symlink out of the package directory.
    std::fs::write(&recipe_file, good).unwrap();
    let patch = top.join("package/evil/0001-evil.patch");
    std::os::unix::fs::symlink(victim.join("keep"), &patch).unwrap();
    let r = bbsdk(&top, &dl, &["show-info"]);
    let err = String::from_utf8_lossy(&r.stderr);
    assert!(
        !r.status.success() && err.contains(&patch.display().to_string()),
        "{err}"
    );
    assert!(err.contains("outside"), "{err}");
}

#[test]
fn a_subdir_that_is_a_symlink_out_of_the_sources_is_refused() {
    let w = World::empty();
    let outside = w.root.join("outside");
    std::fs::create_dir_all(&outside).unwrap();
    let path = w.mirror.join("sub-1.0.tar.gz");
    {
        let gz = flate2::write::GzEncoder::new(
            std::fs::File::create(&path).unwrap(),
            flate2::Compression::fast(),
        );
        let mut tar = tar::Builder::new(gz);
        let mut h = tar::Header::new_gnu();
        h.set_entry_type(tar::EntryType::Symlink);
        h.set_size(0);
        h.set_mode(0o777);
        h.set_cksum();
        tar.append_link(&mut h, "sub-1.0/src", &outside).unwrap();
        tar.into_inner().unwrap().finish().unwrap();
    }
    let sum = bbsdk::fetch::sha256_file(&path).unwrap();
    w.recipe(
        "sub",
        &format!(
            "[[source]]\nfile = \"sub-1.0.tar.gz\"\nurls = [\"file://{}\"]\nsha256 = \"{sum}\"\n\n[build]\nsystem = \"generic\"\nsubdir = \"src\"\nout_of_tree = true\n\n[build.steps]\nbuild = \"touch built-here\"\n",
            path.display()
        ),
    );
    let reg = w.registry();
    let p = w.plan(&reg, &["BBSDK_PACKAGE_SUB"], &[]);
    let e = w.build(&reg, &p).unwrap_err().to_string();
    assert!(e.contains("outside the build directory"), "{e}");
    let left: Vec<_> = std::fs::read_dir(&outside).unwrap().collect();
    assert!(left.is_empty(), "nothing is written outside: {left:?}");
}
