//! Assembling the target root filesystem: layers copied into
//! `<output>/target`, system files, accounts, post-build scripts, then the
//! Manifest with tables applied. The order is in `docs/rootfs.md`.

use std::ffi::OsStr;
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Component, Path, PathBuf};

use super::accounts::{Accounts, Home, RootLogin};
use super::fsops::{self, LoosenedDirs};
use super::hooks::{run_post_build_scripts, ScriptEnv};
use super::manifest::Manifest;
use super::strip::strip_tree;
use super::tables::{give_home, DeviceKind, DeviceTable, TableSource, UsersTable};
use super::{Error, Result};

/// A login prompt started by BusyBox init.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Getty {
    /// Terminal without `/dev/`: `console`, `ttyS0`, `ttyAMA0`, `tty1`.
    pub port: String,
    /// Line speed, `0` = keep the current one.
    pub baudrate: String,
    /// `TERM` of the login shell.
    pub term: String,
}

impl Default for Getty {
    fn default() -> Self {
        Getty {
            port: "console".to_string(),
            baudrate: "0".to_string(),
            term: "vt100".to_string(),
        }
    }
}

/// The init system of the image.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum InitSystem {
    /// No init (containers): no `etc/inittab` is written.
    #[default]
    None,
    /// BusyBox init: an `etc/inittab` is written, with a getty when given.
    Busybox { getty: Option<Getty> },
}

/// Everything [`assemble`] needs, as plain data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AssembleSettings {
    /// Directories and environment of the scripts; `env.target_dir` is
    /// where the root is assembled (it is emptied first).
    pub env: ScriptEnv,
    /// The skeleton, copied first (`board/common/skeleton`).
    pub skeleton: Option<PathBuf>,
    /// The packages' target trees in build order (or one merged tree).
    pub package_trees: Vec<PathBuf>,
    /// Overlay directories, copied in order after the packages.
    pub overlays: Vec<PathBuf>,
    /// `etc/hostname` and the `127.0.1.1` line of `etc/hosts`; empty = none.
    pub hostname: String,
    /// `etc/issue`; empty = none.
    pub issue: String,
    pub root_login: RootLogin,
    pub init: InitSystem,
    /// Users tables in order: packages' accounts, then the users tables.
    pub users_tables: Vec<TableSource>,
    /// Device/permission tables in order: device table, static device
    /// table, packages' permissions, permission tables.
    pub device_tables: Vec<TableSource>,
    pub post_build_scripts: Vec<PathBuf>,
    /// Arguments after the directory argument of every script.
    pub script_args: Vec<String>,
    /// Keep development files (headers, static libraries, ...) of the
    /// skeleton and the packages out of the target. Default on.
    pub runtime_only: bool,
    /// Strip program for ELF files of the packages (`None` = no stripping).
    pub strip: Option<PathBuf>,
    /// The toolchain's runtime library directories: the libraries and the
    /// loader dynamically linked programs need are copied from there
    /// (`runtime_libs`). Empty: nothing is copied.
    pub runtime_lib_dirs: Vec<PathBuf>,
    /// Seed of the password salts: the same seed gives the same hashes.
    /// Use something that identifies the configuration.
    pub salt_seed: Vec<u8>,
}

impl AssembleSettings {
    /// Settings with nothing to copy, no generated files, runtime-only on.
    pub fn new(env: ScriptEnv) -> Self {
        AssembleSettings {
            env,
            skeleton: None,
            package_trees: Vec::new(),
            overlays: Vec::new(),
            hostname: String::new(),
            issue: String::new(),
            root_login: RootLogin::Keep,
            init: InitSystem::None,
            users_tables: Vec::new(),
            device_tables: Vec::new(),
            post_build_scripts: Vec::new(),
            script_args: Vec::new(),
            runtime_only: true,
            strip: None,
            runtime_lib_dirs: Vec::new(),
            salt_seed: Vec::new(),
        }
    }
}

/// Assembles the root filesystem and returns its Manifest.
///
/// 1. the target directory is emptied, then the skeleton and the package
///    trees are copied into it (development files left out when
///    `runtime_only`);
/// 2. the runtime libraries and the loader the programs need are copied
///    from the toolchain (`runtime_libs`), then ELF files are stripped (when
///    a strip program is given);
/// 3. `etc/hostname`, `etc/hosts`, `etc/issue` and `etc/inittab` are written;
/// 4. the overlays are copied (so they can replace the generated files);
/// 5. users tables and the root login are applied to `etc/passwd`,
///    `etc/group`, `etc/shadow`; home directories and the directories of
///    the device tables are created;
/// 6. the post-build scripts run on the directory;
/// 7. the Manifest is made from the directory: everything owned by root,
///    then the homes given to their users and the device/permission tables
///    applied (modes, owners, device nodes, FIFOs).
///
/// Tables are read and checked before anything is copied.
pub fn assemble(settings: &AssembleSettings) -> Result<Manifest> {
    let target = settings.env.target_dir.as_path();
    check_target(settings)?;
    let users = settings
        .users_tables
        .iter()
        .map(UsersTable::load)
        .collect::<Result<Vec<_>>>()?;
    let devices = settings
        .device_tables
        .iter()
        .map(DeviceTable::load)
        .collect::<Result<Vec<_>>>()?;
    check_hostname(&settings.hostname)?;

    fsops::remove_all(target)?;
    fs::create_dir_all(target).map_err(|e| Error::io(target, e))?;
    fs::set_permissions(target, fs::Permissions::from_mode(0o755))
        .map_err(|e| Error::io(target, e))?;
    let mut loosened = LoosenedDirs::new();
    let runtime_only = settings.runtime_only;
    let skip_dev = move |rel: &Path| runtime_only && is_development_file(rel);
    if let Some(skeleton) = &settings.skeleton {
        fsops::copy_tree(skeleton, target, &skip_dev, &mut loosened)?;
    }
    for tree in &settings.package_trees {
        fsops::copy_tree(tree, target, &skip_dev, &mut loosened)?;
    }
    if !settings.runtime_lib_dirs.is_empty() {
        super::runtime_libs::install_runtime_libs(target, &settings.runtime_lib_dirs)?;
    }
    if let Some(strip) = &settings.strip {
        strip_tree(target, strip)?;
    }
    write_system_files(target, settings)?;
    for overlay in &settings.overlays {
        fsops::copy_tree(overlay, target, &|_| false, &mut loosened)?;
    }
    let homes = update_accounts(target, &users, &settings.root_login, &settings.salt_seed)?;
    for home in &homes {
        fsops::mkdir_all_in_root(target, &home.path)?;
    }
    for table in &devices {
        for e in table.entries.iter().filter(|e| e.kind == DeviceKind::Dir) {
            fsops::mkdir_all_in_root(target, &e.path)
                .map_err(|x| Error::table(&table.file, e.line, x.to_string()))?;
        }
    }
    run_post_build_scripts(
        &settings.post_build_scripts,
        &settings.script_args,
        &settings.env,
    )?;

    let mut manifest = Manifest::from_dir(target)?;
    if let Some(root) = manifest.get_mut("") {
        root.mode = 0o755;
    }
    for (path, mode) in &loosened {
        if let Some(e) = manifest.get_mut(path) {
            if e.is_dir() {
                e.mode = *mode;
            }
        }
    }
    for home in &homes {
        give_home(&mut manifest, home)?;
    }
    for table in &devices {
        table.apply(&mut manifest)?;
    }
    Ok(manifest)
}

/// The target directory is emptied first: refuse `/`, and any target that
/// holds one of the sources.
fn check_target(settings: &AssembleSettings) -> Result<()> {
    let target = settings.env.target_dir.as_path();
    if target.as_os_str().is_empty() {
        return Err(Error::tree(target, "no target directory given"));
    }
    let abs = |p: &Path| std::path::absolute(p).unwrap_or_else(|_| p.to_path_buf());
    let target_abs = abs(target);
    if target_abs.parent().is_none() {
        return Err(Error::tree(target, "the target directory cannot be /"));
    }
    let sources = settings
        .skeleton
        .iter()
        .chain(&settings.package_trees)
        .chain(&settings.overlays);
    for src in sources {
        if abs(src).starts_with(&target_abs) {
            return Err(Error::tree(
                target,
                format!(
                    "the target directory is emptied before assembly, but it holds the source {}",
                    src.display()
                ),
            ));
        }
    }
    Ok(())
}

fn check_hostname(hostname: &str) -> Result<()> {
    let ok = hostname.len() <= 64
        && hostname
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.');
    if ok {
        Ok(())
    } else {
        Err(Error::tree(
            "/etc/hostname",
            format!("invalid host name {hostname:?}: use at most 64 letters, digits, '-' and '.'"),
        ))
    }
}

/// Applies users tables and the root login to the account files on disk;
/// returns the home directories to create.
fn update_accounts(
    target: &Path,
    users: &[UsersTable],
    root_login: &RootLogin,
    salt_seed: &[u8],
) -> Result<Vec<Home>> {
    let no_tables = users.iter().all(|t| t.entries.is_empty());
    if no_tables && *root_login == RootLogin::Keep {
        return Ok(Vec::new());
    }
    let passwd = fsops::read_in_root(target, Path::new("etc/passwd"))?;
    let group = fsops::read_in_root(target, Path::new("etc/group"))?;
    let shadow = fsops::read_in_root(target, Path::new("etc/shadow"))?;
    if no_tables && passwd.is_none() && group.is_none() && shadow.is_none() {
        return Ok(Vec::new());
    }
    let mut acc = Accounts::parse(passwd.as_deref(), group.as_deref(), shadow.as_deref())?;
    acc.set_root_login(root_login, salt_seed)?;
    let homes = acc.add_tables(users, salt_seed)?;
    let files = [
        ("etc/passwd", acc.render_passwd(), 0o644),
        ("etc/group", acc.render_group(), 0o644),
        ("etc/shadow", acc.render_shadow(), 0o600),
    ];
    for (path, text, mode) in files {
        fsops::write_in_root(target, Path::new(path), text.as_bytes(), mode)?;
    }
    Ok(homes)
}

fn write_system_files(target: &Path, settings: &AssembleSettings) -> Result<()> {
    if !settings.hostname.is_empty() {
        let name = &settings.hostname;
        fsops::write_in_root(
            target,
            Path::new("etc/hostname"),
            format!("{name}\n").as_bytes(),
            0o644,
        )?;
        let old = fsops::read_in_root(target, Path::new("etc/hosts"))?
            .unwrap_or_else(|| "127.0.0.1\tlocalhost\n".to_string());
        let mut hosts = String::new();
        for line in old.lines() {
            if line.split_whitespace().next() != Some("127.0.1.1") {
                hosts.push_str(line);
                hosts.push('\n');
            }
        }
        hosts.push_str(&format!("127.0.1.1\t{name}\n"));
        fsops::write_in_root(target, Path::new("etc/hosts"), hosts.as_bytes(), 0o644)?;
    }
    if !settings.issue.is_empty() {
        fsops::write_in_root(
            target,
            Path::new("etc/issue"),
            format!("{}\n", settings.issue).as_bytes(),
            0o644,
        )?;
    }
    if let InitSystem::Busybox { getty } = &settings.init {
        let text = busybox_inittab(!settings.hostname.is_empty(), getty.as_ref());
        fsops::write_in_root(target, Path::new("etc/inittab"), text.as_bytes(), 0o644)?;
    }
    Ok(())
}

/// The `etc/inittab` written for BusyBox init.
pub fn busybox_inittab(set_hostname: bool, getty: Option<&Getty>) -> String {
    let mut t = String::from(
        "# /etc/inittab for BusyBox init, written by bbsdk.\n\
         # Each line is <tty>::<action>:<command>; see BusyBox's init documentation.\n\
         \n\
         # Start-up: kernel file systems, /dev, /run, then /etc/init.d/rcS if present.\n\
         ::sysinit:/bin/mount -t proc proc /proc\n\
         ::sysinit:/bin/mount -o remount,rw /\n\
         ::sysinit:/bin/mount -t sysfs sysfs /sys\n\
         ::sysinit:/bin/sh -c 'mountpoint -q /dev || mount -t devtmpfs devtmpfs /dev'\n\
         ::sysinit:/bin/mkdir -p /dev/pts /dev/shm\n\
         ::sysinit:/bin/mount -t devpts devpts /dev/pts\n\
         ::sysinit:/bin/mount -t tmpfs -o mode=1777 tmpfs /dev/shm\n\
         ::sysinit:/bin/mount -t tmpfs -o mode=0755 tmpfs /run\n",
    );
    if set_hostname {
        t.push_str("::sysinit:/bin/hostname -F /etc/hostname\n");
    }
    t.push_str("::sysinit:/bin/sh -c '[ ! -x /etc/init.d/rcS ] || /etc/init.d/rcS'\n");
    if let Some(g) = getty {
        t.push_str(&format!(
            "\n# Login prompt, restarted after each logout.\n\
             {port}::respawn:/sbin/getty -L {port} {baud} {term}\n",
            port = g.port,
            baud = g.baudrate,
            term = g.term
        ));
    }
    t.push_str(
        "\n# Reboot on Ctrl-Alt-Del; clean shutdown.\n\
         ::ctrlaltdel:/sbin/reboot\n\
         ::shutdown:/bin/sh -c '[ ! -x /etc/init.d/rcK ] || /etc/init.d/rcK'\n\
         ::shutdown:/sbin/swapoff -a\n\
         ::shutdown:/bin/umount -a -r\n\
         ::restart:/sbin/init\n",
    );
    t
}

fn is_lib_dir(name: &OsStr) -> bool {
    matches!(
        name.to_str(),
        Some("lib" | "lib32" | "lib64" | "libx32" | "libexec")
    )
}

/// True for files that only serve to build software and stay out of a
/// runtime-only target (`rel` is relative to the root):
///
/// * `usr/include`, `usr/local/include`;
/// * `pkgconfig` and `cmake` directories under `lib*` or `share`;
/// * `share/aclocal`, `share/man`, `share/info`, `share/doc`,
///   `share/gtk-doc` under `usr` and `usr/local`;
/// * `*.a`, `*.la`, `*.prl` and `*.pc` under `lib*` directories.
pub fn is_development_file(rel: &Path) -> bool {
    let names: Vec<&OsStr> = rel
        .components()
        .filter_map(|c| match c {
            Component::Normal(n) => Some(n),
            _ => None,
        })
        .collect();
    let prefix = match names.as_slice() {
        [usr, local, ..] if *usr == "usr" && *local == "local" => 2,
        [usr, ..] if *usr == "usr" => 1,
        _ => 0,
    };
    let rest = &names[prefix..];
    let Some(first) = rest.first() else {
        return false;
    };
    let second = rest.get(1).and_then(|n| n.to_str());
    if prefix > 0 && *first == "include" {
        return true;
    }
    if (is_lib_dir(first) || *first == "share") && matches!(second, Some("pkgconfig" | "cmake")) {
        return true;
    }
    if prefix > 0
        && *first == "share"
        && matches!(second, Some("aclocal" | "man" | "info" | "doc" | "gtk-doc"))
    {
        return true;
    }
    if is_lib_dir(first) && rest.len() > 1 {
        let name = rest[rest.len() - 1].to_string_lossy();
        return [".a", ".la", ".prl", ".pc"]
            .iter()
            .any(|ext| name.ends_with(ext) && name.len() > ext.len());
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn development_files() {
        for p in [
            "usr/include",
            "usr/include/stdio.h",
            "usr/local/include/x.h",
            "usr/lib/libc.a",
            "lib/libz.la",
            "usr/lib64/libfoo.a",
            "usr/lib/pkgconfig",
            "usr/share/pkgconfig/x.pc",
            "usr/lib/cmake/Foo/FooConfig.cmake",
            "usr/share/man/man1/ls.1",
            "usr/share/doc/foo/README",
            "usr/share/info/dir",
            "usr/share/aclocal/foo.m4",
            "usr/lib/x86_64-linux-gnu/libm.a",
        ] {
            assert!(is_development_file(Path::new(p)), "{p}");
        }
        for p in [
            "usr",
            "usr/lib",
            "usr/lib/libc.so",
            "usr/bin/cmake",
            "etc/include",
            "usr/share/zoneinfo/UTC",
            "usr/share/misc/magic",
            "bin/a",
            "usr/lib/.a",
        ] {
            assert!(!is_development_file(Path::new(p)), "{p}");
        }
    }

    #[test]
    fn inittab_getty() {
        let g = Getty {
            port: "ttyS0".into(),
            baudrate: "115200".into(),
            term: "linux".into(),
        };
        let t = busybox_inittab(true, Some(&g));
        assert!(t.contains("ttyS0::respawn:/sbin/getty -L ttyS0 115200 linux\n"));
        assert!(t.contains("hostname -F"));
        assert!(!busybox_inittab(false, None).contains("getty"));
    }
}
