//! The Portage configuration roots bbsdk generates (crossdev-style): one in
//! the sysroot (`<sysroot>/etc/portage`, the build pass) and one for the
//! target root (the install pass). Each holds make.conf, a profile of our
//! own, repos.conf, package.use and the user patches. Both are rewritten by
//! every run from the configuration; nothing is read from the host's
//! `/etc/portage`.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use super::{emerge::Tools, GentooError, Input, Result, Settings};
use crate::target::{Arch, Libc, Target};

/// Directories Portage writes to, all owned by bbsdk.
#[derive(Debug, Clone)]
pub struct Paths {
    pub distdir: PathBuf,
    pub pkgdir: PathBuf,
    pub tmpdir: PathBuf,
    pub depcache: PathBuf,
    pub logdir: PathBuf,
}

/// Which emerge pass a configuration root is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pass {
    /// Builds into the sysroot and makes binary packages.
    Build,
    /// Installs the binary packages into the target root, runtime files only.
    Install,
}

/// What goes into a configuration root.
#[derive(Debug, Clone)]
pub struct PortageConf {
    pub chost: String,
    pub cbuild: String,
    /// CC, CXX, AR, ... and PKG_CONFIG.
    pub tools: Vec<(String, String)>,
    pub cflags: String,
    pub cxxflags: String,
    pub ldflags: String,
    pub jobs: usize,
    pub paths: Paths,
    pub settings: Settings,
    pub profile: Profile,
    pub runtime_only: bool,
}

/// The profile bbsdk writes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Profile {
    /// A profile of the main repository as parent (the Gentoo repository).
    Parent(PathBuf),
    /// Standalone: ARCH, ELIBC, KERNEL, USERLAND and keywords only (enough
    /// for repositories without profiles of their own, like the test one).
    Own { arch: String, elibc: String },
}

/// Gentoo's name of the architecture (ARCH and the stable keyword).
pub fn gentoo_arch(target: &Target) -> &'static str {
    match target.arch {
        Arch::X86_64 => "amd64",
        Arch::Aarch64 => "arm64",
        Arch::Armv7 => "arm",
    }
}

/// Profiles of the Gentoo repository matching a target, best first.
fn gentoo_profiles(target: &Target) -> Vec<String> {
    let arch = gentoo_arch(target);
    let base = format!("default/linux/{arch}/23.0");
    let musl = target.libc == Libc::Musl;
    match (target.arch, musl) {
        (Arch::X86_64, false) => vec![format!("{base}/no-multilib"), base],
        (Arch::X86_64, true) => vec![format!("{base}/musl")],
        (Arch::Aarch64, false) => vec![base],
        (Arch::Aarch64, true) => vec![format!("{base}/musl")],
        (Arch::Armv7, false) => vec![format!("{base}/armv7a_hf"), base],
        (Arch::Armv7, true) => vec![format!("{base}/armv7a_hf/musl"), format!("{base}/musl")],
    }
}

/// The profile for these settings: the configured one, else the Gentoo
/// repository's plain profile for the target when the main repository has
/// it, else our own.
pub fn pick_profile(settings: &Settings, target: &Target) -> Profile {
    let main = settings
        .repositories
        .first()
        .map(|r| r.location.join("profiles"));
    if let Some(profiles) = &main {
        if !settings.profile.is_empty() {
            return Profile::Parent(profiles.join(&settings.profile));
        }
        for p in gentoo_profiles(target) {
            if profiles.join(&p).is_dir() {
                return Profile::Parent(profiles.join(p));
            }
        }
    }
    Profile::Own {
        arch: gentoo_arch(target).to_string(),
        elibc: match target.libc {
            Libc::Glibc => "glibc",
            Libc::Musl => "musl",
        }
        .to_string(),
    }
}

impl PortageConf {
    pub fn new(input: &Input, tools: &Tools, paths: Paths) -> Result<PortageConf> {
        let tc = &input.toolchain;
        let get = |k: &str| tc.target.get(k).cloned().unwrap_or_default();
        let cflags = match get("CFLAGS") {
            f if f.trim().is_empty() => "-O2 -pipe".to_string(),
            f => f,
        };
        Ok(PortageConf {
            chost: tc.target_tuple.clone(),
            cbuild: tc.host_tuple.clone(),
            tools: tools.make_conf.clone(),
            cxxflags: match get("CXXFLAGS") {
                f if f.trim().is_empty() => cflags.clone(),
                f => f,
            },
            cflags,
            ldflags: get("LDFLAGS"),
            jobs: input.jobs.max(1),
            paths,
            settings: input.settings.clone(),
            profile: pick_profile(&input.settings, &input.target),
            runtime_only: input.runtime_only,
        })
    }
}

/// A make.conf value in double quotes.
pub(crate) fn quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        if matches!(c, '"' | '\\' | '$' | '`') {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('"');
    out
}

/// Paths the install pass leaves out of the target root.
const INSTALL_MASK: &str = "/usr/include /usr/lib/pkgconfig /usr/lib64/pkgconfig \
/usr/share/pkgconfig /usr/share/aclocal /usr/lib/cmake /usr/lib64/cmake /usr/share/doc \
/usr/share/man /usr/share/info /usr/share/gtk-doc *.a *.la";

/// Bbsdk's FEATURES: no sandboxes or privilege changes (they need
/// privileges or kernel features an unprivileged build lacks).
const FEATURES: &str = "-sandbox -usersandbox -userpriv -userfetch -usersync -ipc-sandbox \
-network-sandbox -pid-sandbox -mount-sandbox -news binpkg-multi-instance";

/// make.conf of a pass.
pub fn make_conf(c: &PortageConf, pass: Pass) -> String {
    let mut s = String::from(
        "# Written by bbsdk from the configuration; every `bbsdk make` rewrites it.\n",
    );
    let mut var = |k: &str, v: &str| {
        let _ = writeln!(s, "{k}={}", quote(v));
    };
    var("CHOST", &c.chost);
    var("CBUILD", &c.cbuild);
    for (k, v) in &c.tools {
        var(k, v);
    }
    var("CFLAGS", &c.cflags);
    var("CXXFLAGS", &c.cxxflags);
    var("LDFLAGS", &c.ldflags);
    var("MAKEOPTS", &format!("-j{}", c.jobs));
    let mut features = FEATURES.to_string();
    match pass {
        Pass::Build => features.push_str(" buildpkg"),
        Pass::Install => features.push_str(" nodoc noman noinfo"),
    }
    if !c.settings.features.is_empty() {
        features.push(' ');
        features.push_str(&c.settings.features);
    }
    var("FEATURES", &features);
    var("BINPKG_FORMAT", "gpkg");
    var("DISTDIR", &c.paths.distdir.to_string_lossy());
    var("PKGDIR", &c.paths.pkgdir.to_string_lossy());
    var("PORTAGE_TMPDIR", &c.paths.tmpdir.to_string_lossy());
    var("PORTAGE_DEPCACHEDIR", &c.paths.depcache.to_string_lossy());
    var("PORTAGE_LOGDIR", &c.paths.logdir.to_string_lossy());
    var("GENTOO_MIRRORS", &c.settings.mirrors.join(" "));
    if !c.settings.use_flags.is_empty() {
        var("USE", &c.settings.use_flags);
    }
    if !c.settings.accept_keywords.is_empty() {
        var("ACCEPT_KEYWORDS", &c.settings.accept_keywords);
    }
    if pass == Pass::Install && c.runtime_only {
        var("INSTALL_MASK", INSTALL_MASK);
    }
    var("CLEAN_DELAY", "0");
    var("EMERGE_WARNING_DELAY", "0");
    s
}

/// repos.conf (also handed to emerge as PORTAGE_REPOSITORIES).
pub fn repos_conf(settings: &Settings) -> String {
    let mut s = String::from("# Written by bbsdk from BBSDK_GENTOO_REPOSITORIES.\n");
    if let Some(main) = settings.repositories.first() {
        let _ = writeln!(s, "[DEFAULT]\nmain-repo = {}\n", main.name);
    }
    for (i, r) in settings.repositories.iter().enumerate() {
        let _ = writeln!(
            s,
            "[{}]\nlocation = {}\npriority = {}\nauto-sync = no\n",
            r.name,
            r.location.display(),
            (i + 1) * 10
        );
    }
    s
}

/// The files of our profile.
pub fn profile_files(profile: &Profile, keywords: &str) -> Vec<(&'static str, String)> {
    let head = "# Written by bbsdk: the target, as Portage's profile.\n";
    match profile {
        Profile::Parent(p) => vec![
            ("eapi", "5\n".to_string()),
            ("parent", format!("{}\n", p.display())),
            ("make.defaults", head.to_string()),
        ],
        Profile::Own { arch, elibc } => {
            let keywords = if keywords.is_empty() {
                arch.as_str()
            } else {
                keywords
            };
            vec![
                ("eapi", "8\n".to_string()),
                (
                    "make.defaults",
                    format!(
                        "{head}ARCH=\"{arch}\"\nACCEPT_KEYWORDS=\"{keywords}\"\n\
                         ELIBC=\"{elibc}\"\nKERNEL=\"linux\"\nUSERLAND=\"GNU\"\n\
                         USE_EXPAND_IMPLICIT=\"ARCH ELIBC KERNEL USERLAND\"\n\
                         USE_EXPAND_UNPREFIXED=\"ARCH\"\n\
                         USE_EXPAND_VALUES_ARCH=\"amd64 arm arm64\"\n\
                         USE_EXPAND_VALUES_ELIBC=\"glibc musl\"\n\
                         USE_EXPAND_VALUES_KERNEL=\"linux\"\n\
                         USE_EXPAND_VALUES_USERLAND=\"GNU\"\n\
                         IUSE_IMPLICIT=\"prefix prefix-guest prefix-stack\"\n"
                    ),
                ),
            ]
        }
    }
}

/// Writes `<root>/etc/portage` for a pass, replacing the previous one.
pub fn write_config_root(root: &Path, c: &PortageConf, pass: Pass) -> Result<()> {
    let etc = root.join("etc");
    let tmp = etc.join(".portage.bbsdk-tmp");
    let io = |p: &Path, e| GentooError::io(p, e);
    let _ = crate::build::tree::remove_all(&tmp);
    std::fs::create_dir_all(tmp.join("repos.conf")).map_err(|e| io(&tmp, e))?;
    let mut files: Vec<(PathBuf, String)> = vec![
        (tmp.join("make.conf"), make_conf(c, pass)),
        (
            tmp.join("repos.conf").join("bbsdk.conf"),
            repos_conf(&c.settings),
        ),
        (
            tmp.join("package.use"),
            c.settings
                .package_use
                .iter()
                .map(|l| format!("{l}\n"))
                .collect(),
        ),
    ];
    let profile = tmp.join("bbsdk-profile");
    std::fs::create_dir_all(&profile).map_err(|e| io(&profile, e))?;
    for (name, text) in profile_files(&c.profile, &c.settings.accept_keywords) {
        files.push((profile.join(name), text));
    }
    for (path, text) in files {
        std::fs::write(&path, text).map_err(|e| io(&path, e))?;
    }
    let link = tmp.join("make.profile");
    std::os::unix::fs::symlink("bbsdk-profile", &link).map_err(|e| io(&link, e))?;
    if let Some(dir) = &c.settings.patches_dir {
        let link = tmp.join("patches");
        std::os::unix::fs::symlink(dir, &link).map_err(|e| io(&link, e))?;
    }
    let dst = etc.join("portage");
    let old = etc.join(".portage.bbsdk-old");
    let _ = crate::build::tree::remove_all(&old);
    if dst.exists() {
        std::fs::rename(&dst, &old).map_err(|e| io(&dst, e))?;
    }
    std::fs::rename(&tmp, &dst).map_err(|e| io(&dst, e))?;
    let _ = crate::build::tree::remove_all(&old);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gentoo::Repository;

    fn conf() -> PortageConf {
        PortageConf {
            chost: "aarch64-linux-gnu".into(),
            cbuild: "x86_64-linux-gnu".into(),
            tools: vec![("CC".into(), "/usr/bin/aarch64-linux-gnu-gcc".into())],
            cflags: "-O2 -march=\"x\"".into(),
            cxxflags: "-O2".into(),
            ldflags: String::new(),
            jobs: 2,
            paths: Paths {
                distdir: "/dl/gentoo".into(),
                pkgdir: "/cache/pkgs".into(),
                tmpdir: "/out/tmp".into(),
                depcache: "/out/dep".into(),
                logdir: "/out/logs".into(),
            },
            settings: Settings {
                repositories: vec![
                    Repository {
                        name: "gentoo".into(),
                        location: "/var/db/repos/gentoo".into(),
                    },
                    Repository {
                        name: "local".into(),
                        location: "/top/overlay".into(),
                    },
                ],
                mirrors: vec!["http://127.0.0.1:1".into()],
                features: "parallel-install".into(),
                ..Default::default()
            },
            profile: Profile::Own {
                arch: "arm64".into(),
                elibc: "glibc".into(),
            },
            runtime_only: true,
        }
    }

    #[test]
    fn make_conf_per_pass() {
        let c = conf();
        let b = make_conf(&c, Pass::Build);
        assert!(b.contains("CHOST=\"aarch64-linux-gnu\"\n"), "{b}");
        assert!(b.contains("CFLAGS=\"-O2 -march=\\\"x\\\"\"\n"), "{b}");
        assert!(b.contains("PKGDIR=\"/cache/pkgs\"") && b.contains("DISTDIR=\"/dl/gentoo\""));
        assert!(
            b.contains("-sandbox") && b.contains(" buildpkg parallel-install\""),
            "{b}"
        );
        assert!(!b.contains("INSTALL_MASK"));
        let i = make_conf(&c, Pass::Install);
        assert!(
            i.contains("INSTALL_MASK=\"/usr/include ") && i.contains("nodoc"),
            "{i}"
        );
    }

    #[test]
    fn repos_conf_lists_main_first() {
        let r = repos_conf(&conf().settings);
        assert!(r.contains("main-repo = gentoo"));
        let g = r.find("[gentoo]").unwrap();
        let l = r.find("[local]").unwrap();
        assert!(
            g < l && r.contains("location = /top/overlay\npriority = 20"),
            "{r}"
        );
    }

    #[test]
    fn own_profile_and_parent() {
        let own = profile_files(&conf().profile, "");
        let md = &own.iter().find(|(n, _)| *n == "make.defaults").unwrap().1;
        assert!(md.contains("ARCH=\"arm64\"") && md.contains("ACCEPT_KEYWORDS=\"arm64\""));
        assert!(md.contains("ELIBC=\"glibc\""));
        let own = profile_files(&conf().profile, "~arm64");
        assert!(own[1].1.contains("ACCEPT_KEYWORDS=\"~arm64\""));
        let par = profile_files(
            &Profile::Parent("/r/profiles/default/linux/arm64/23.0".into()),
            "",
        );
        assert!(par
            .iter()
            .any(|(n, t)| *n == "parent" && t.contains("arm64/23.0")));
    }

    #[test]
    fn picks_the_gentoo_profile_when_present() {
        let d = tempfile::tempdir().unwrap();
        let mut s = conf().settings;
        s.repositories[0].location = d.path().to_path_buf();
        let t = Target {
            arch: Arch::Aarch64,
            libc: Libc::Musl,
            hard_float: true,
        };
        assert!(matches!(pick_profile(&s, &t), Profile::Own { .. }));
        std::fs::create_dir_all(d.path().join("profiles/default/linux/arm64/23.0/musl")).unwrap();
        assert_eq!(
            pick_profile(&s, &t),
            Profile::Parent(d.path().join("profiles/default/linux/arm64/23.0/musl"))
        );
    }

    #[test]
    fn writes_a_config_root() {
        let d = tempfile::tempdir().unwrap();
        let mut c = conf();
        c.settings.package_use = vec!["app-misc/hello -foo".into()];
        write_config_root(d.path(), &c, Pass::Build).unwrap();
        write_config_root(d.path(), &c, Pass::Build).unwrap();
        let p = d.path().join("etc/portage");
        assert_eq!(
            std::fs::read_link(p.join("make.profile")).unwrap(),
            Path::new("bbsdk-profile")
        );
        assert!(p.join("bbsdk-profile/make.defaults").is_file());
        assert_eq!(
            std::fs::read_to_string(p.join("package.use")).unwrap(),
            "app-misc/hello -foo\n"
        );
        assert!(std::fs::read_to_string(p.join("repos.conf/bbsdk.conf"))
            .unwrap()
            .contains("[local]"));
        assert!(!d.path().join("etc/.portage.bbsdk-tmp").exists());
    }
}
