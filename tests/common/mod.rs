//! Helpers of the build tests: a temporary world with recipes, a source
//! mirror (tar.gz files made here, fetched through `file://` URLs), download
//! and cache directories and an output directory.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use bbsdk::build::{BuildError, BuildSettings, Executor, Report, ToolchainEnv};
use bbsdk::fetch::{FetchOptions, Fetcher, Mirrors};
use bbsdk::package::Registry;
use bbsdk::plan::{plan, Plan, PlanInput};
use bbsdk::target::Target;

pub struct World {
    _tmp: tempfile::TempDir,
    pub root: PathBuf,
    pub packages: PathBuf,
    pub mirror: PathBuf,
    pub cache: PathBuf,
    pub out: PathBuf,
    pub fetcher: Fetcher,
}

/// Writes a tar.gz of `files` (name, content, mode) below `top/`; returns its sha256.
pub fn tar_gz(path: &Path, top: &str, files: &[(&str, &str, u32)]) -> String {
    let f = std::fs::File::create(path).unwrap();
    let gz = flate2::write::GzEncoder::new(f, flate2::Compression::fast());
    let mut tar = tar::Builder::new(gz);
    for (name, body, mode) in files {
        let mut h = tar::Header::new_gnu();
        h.set_size(body.len() as u64);
        h.set_mode(*mode);
        h.set_mtime(1_700_000_000);
        h.set_cksum();
        tar.append_data(&mut h, format!("{top}/{name}"), body.as_bytes())
            .unwrap();
    }
    tar.into_inner().unwrap().finish().unwrap();
    bbsdk::fetch::sha256_file(path).unwrap()
}

impl World {
    pub fn empty() -> World {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path().to_path_buf();
        let mirror = root.join("mirror");
        std::fs::create_dir_all(&mirror).unwrap();
        let fetcher = Fetcher::with_options(
            root.join("dl"),
            Mirrors {
                debian: false,
                ..Mirrors::default()
            },
            FetchOptions {
                progress: false,
                ..FetchOptions::default()
            },
        )
        .unwrap();
        World {
            packages: root.join("package"),
            mirror,
            cache: root.join("cache"),
            out: root.join("out"),
            root,
            fetcher,
            _tmp: tmp,
        }
    }

    /// Packs a source tarball into the mirror; returns its `[[source]]` table.
    pub fn source(&self, top: &str, files: &[(&str, &str, u32)]) -> String {
        let file = format!("{top}.tar.gz");
        let path = self.mirror.join(&file);
        let sum = tar_gz(&path, top, files);
        format!(
            "[[source]]\nfile = \"{file}\"\nurls = [\"file://{}\"]\nsha256 = \"{sum}\"\n",
            path.display()
        )
    }

    /// Writes `package/<name>/<name>.toml` (version 1.0) with `body` after the header.
    pub fn recipe(&self, name: &str, body: &str) {
        self.file(
            &format!("{name}/{name}.toml"),
            &format!("name = \"{name}\"\nversion = \"1.0\"\nlicense = \"MIT\"\n{body}"),
        );
    }

    /// Writes a file below `package/`.
    pub fn file(&self, rel: &str, text: &str) {
        let p = self.packages.join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, text).unwrap();
    }

    pub fn registry(&self) -> Registry {
        Registry::scan(&self.packages).unwrap()
    }

    /// The plan for configuration `values` (x86_64/glibc added).
    pub fn plan_values(&self, reg: &Registry, values: &[(&str, &str)]) -> Plan {
        let mut v = BTreeMap::new();
        v.insert("BBSDK_ARCH_X86_64".to_string(), "y".to_string());
        v.insert("BBSDK_LIBC_GLIBC".to_string(), "y".to_string());
        for (k, val) in values {
            v.insert(k.to_string(), val.to_string());
        }
        let target = Target::from_values(&v).unwrap();
        plan(PlanInput {
            registry: reg,
            values: &v,
            target: &target,
            toolchain_id: "host-gcc",
            host_toolchain_id: "host-gcc",
            top: &self.root,
        })
        .unwrap()
    }

    /// The plan with these symbols set to `y` (packages and options).
    pub fn plan(&self, reg: &Registry, selected: &[&str], options: &[&str]) -> Plan {
        let v: Vec<(&str, &str)> = selected.iter().chain(options).map(|s| (*s, "y")).collect();
        self.plan_values(reg, &v)
    }

    /// Host gcc, this world's cache, 2 jobs, no spinners.
    pub fn settings(&self, out: &Path) -> BuildSettings {
        let mut s = BuildSettings::new(out, ToolchainEnv::host_gcc().unwrap());
        s.cache_dir = Some(self.cache.clone());
        s.jobs = 2;
        s.top = self.root.clone();
        s.progress = false;
        s
    }

    #[allow(clippy::result_large_err)] // the error carries the log's tail
    pub fn build(&self, reg: &Registry, plan: &Plan) -> Result<Report, BuildError> {
        Executor::new(self.settings(&self.out), reg, plan, &self.fetcher).build_all()
    }
}

pub fn sorted(v: &[String]) -> Vec<&str> {
    let mut v: Vec<&str> = v.iter().map(String::as_str).collect();
    v.sort();
    v
}

/// Runs a program with an empty environment; its stdout.
pub fn run(program: &Path) -> String {
    let out = Command::new(program)
        .env_clear()
        .output()
        .unwrap_or_else(|e| panic!("{}: {e}", program.display()));
    assert!(out.status.success(), "{}: {out:?}", program.display());
    String::from_utf8(out.stdout).unwrap()
}

pub fn read(p: &Path) -> String {
    std::fs::read_to_string(p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}
