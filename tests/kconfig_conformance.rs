//! Conformance corpus for the Kconfig engine.
//!
//! Every directory under `tests/kconfig/cases/` holds one of our own small
//! Kconfig trees, its inputs and the outputs that the REFERENCE C kconfig
//! (Linux 5.15's `scripts/kconfig/conf`, or Buildroot's 4.17-based `conf`
//! for the legacy dialect) produced on it; `tests/kconfig/regen-expected.sh`
//! re-creates them and documents the `case.toml` format. Here every case is
//! run through the library (`bbsdk::kconfig::frontend::run`) and the results
//! must match byte for byte, headers included.
//!
//! Besides the reference outputs, every `.config` produced is checked for
//! properties kconfig guarantees: `olddefconfig` over it changes nothing, and
//! `savedefconfig` followed by `defconfig` gives it back.
//!
//! `tests/kconfig/errors/` holds trees the engine must reject; `expected.error`
//! lists texts (one a line: file:line, key words, the symbols of a cycle) that
//! must all appear in our error message. `reference.stderr` is what the C tool
//! said, kept for comparison only (our wording differs).
//!
//! The engine reads its process environment (`$(VAR)`, `option env`,
//! `CONFIG_`, `KCONFIG_SEED`, `srctree`), so the cases run one after the other
//! under a lock, each with exactly its own variables set.

use std::collections::BTreeMap;
use std::io::Cursor;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};

use bbsdk::kconfig::frontend::{self, Action, Outcome, Request};
use bbsdk::kconfig::{self, Config, LoadOptions, MenuKind};

/// Serializes the tests of this file: they change the process environment.
static ENV_LOCK: Mutex<()> = Mutex::new(());

fn lock() -> MutexGuard<'static, ()> {
    ENV_LOCK.lock().unwrap_or_else(|e| e.into_inner())
}

/// Variables the engine reads; cleared before every case.
const ENGINE_ENV: &[&str] = &[
    "CONFIG_",
    "srctree",
    "KCONFIG_SEED",
    "KCONFIG_PROBABILITY",
    "KCONFIG_ALLCONFIG",
    "KCONFIG_CONFIG",
    "BR2_CONFIG",
    "BBSDK_KCONFIG_DIALECT",
    "KCONFIG_DEFCONFIG_LIST",
];

fn corpus() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/kconfig")
}

/// The flat `key = "value"` subset of TOML that `case.toml` uses.
fn parse_case_toml(text: &str) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for line in text.lines() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let Some((k, v)) = line.split_once('=') else {
            panic!("case.toml: bad line {line:?}");
        };
        let v = v.trim();
        let v = v
            .strip_prefix('"')
            .and_then(|v| v.strip_suffix('"'))
            .unwrap_or_else(|| panic!("case.toml: value must be quoted: {line:?}"));
        out.insert(k.trim().to_string(), v.to_string());
    }
    out
}

struct Case {
    name: String,
    dir: PathBuf,
    tool: String,
    actions: Vec<String>,
    env: Vec<(String, String)>,
    warns: Vec<String>,
    props: bool,
}

impl Case {
    fn load(dir: &Path) -> Case {
        let text = std::fs::read_to_string(dir.join("case.toml"))
            .unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
        let kv = parse_case_toml(&text);
        let env = kv
            .iter()
            .filter_map(|(k, v)| k.strip_prefix("env.").map(|n| (n.to_string(), v.clone())))
            .collect();
        let warns = kv
            .iter()
            .filter(|(k, _)| k.starts_with("warn."))
            .map(|(_, v)| v.clone())
            .collect();
        Case {
            name: dir.file_name().unwrap().to_string_lossy().into_owned(),
            dir: dir.to_path_buf(),
            tool: kv.get("tool").cloned().unwrap_or_else(|| "linux".into()),
            actions: kv
                .get("actions")
                .map(|a| a.split_whitespace().map(String::from).collect())
                .unwrap_or_default(),
            env,
            warns,
            props: kv.get("props").map(|p| p != "no").unwrap_or(true),
        }
    }

    fn legacy(&self) -> bool {
        self.tool == "br"
    }

    /// Sets exactly this case's environment.
    fn set_env(&self) {
        for v in ENGINE_ENV {
            std::env::remove_var(v);
        }
        for (k, v) in &self.env {
            std::env::set_var(k, v);
        }
    }

    fn clear_env(&self) {
        for (k, _) in &self.env {
            std::env::remove_var(k);
        }
    }

    fn request(&self, config: &Path, action: Action) -> Request {
        // Buildroot's conf is built with an empty symbol prefix; `CONFIG_`
        // in the environment overrides it (the engine reads it itself).
        let prefix = if self.legacy() && !self.env.iter().any(|(k, _)| k == "CONFIG_") {
            Some(String::new())
        } else {
            None
        };
        Request {
            kconfig: PathBuf::from("Kconfig"),
            config: config.to_path_buf(),
            action,
            load: LoadOptions {
                base_dir: Some(self.dir.clone()),
                // The reference runs in the case directory, so a relative
                // $srctree is relative to it.
                srctree: self
                    .env
                    .iter()
                    .find(|(k, _)| k == "srctree")
                    .map(|(_, v)| self.dir.join(v)),
                legacy: self.legacy().then_some(true),
            },
            prefix,
        }
    }

    fn run(&self, config: &Path, action: Action) -> Result<Outcome, String> {
        frontend::run(&self.request(config, action)).map_err(|e| format!("{}: {e}", self.name))
    }

    fn config(&self, tree: Arc<kconfig::Tree>) -> Config {
        let mut cfg = Config::new(tree);
        if let Some(p) = self.request(Path::new("x"), Action::Olddefconfig).prefix {
            cfg.prefix = p;
        }
        cfg
    }

    fn tree(&self) -> Result<Arc<kconfig::Tree>, String> {
        let req = self.request(Path::new("x"), Action::Olddefconfig);
        kconfig::load(&req.kconfig, &req.load).map_err(|e| format!("{}: {e}", self.name))
    }
}

/// A line diff (longest common subsequence), `-` expected, `+` ours.
fn diff(expected: &str, got: &str) -> String {
    let a: Vec<&str> = expected.lines().collect();
    let b: Vec<&str> = got.lines().collect();
    let (n, m) = (a.len(), b.len());
    let mut lcs = vec![vec![0u32; m + 1]; n + 1];
    for i in (0..n).rev() {
        for j in (0..m).rev() {
            lcs[i][j] = if a[i] == b[j] {
                lcs[i + 1][j + 1] + 1
            } else {
                lcs[i + 1][j].max(lcs[i][j + 1])
            };
        }
    }
    let mut out = String::new();
    let (mut i, mut j) = (0, 0);
    while i < n || j < m {
        if i < n && j < m && a[i] == b[j] {
            out.push_str(&format!("  {}\n", a[i]));
            i += 1;
            j += 1;
        } else if j < m && (i == n || lcs[i][j + 1] >= lcs[i + 1][j]) {
            out.push_str(&format!("+ {}\n", b[j]));
            j += 1;
        } else {
            out.push_str(&format!("- {}\n", a[i]));
            i += 1;
        }
    }
    if expected.ends_with('\n') != got.ends_with('\n') {
        out.push_str("(final newline differs)\n");
    }
    out
}

fn read(p: &Path) -> String {
    std::fs::read_to_string(p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

struct Checker {
    failures: Vec<String>,
}

impl Checker {
    fn compare(&mut self, case: &Case, what: &str, expected_file: &str, got: &str) {
        let path = case.dir.join(expected_file);
        let expected = read(&path);
        if expected != got {
            self.failures.push(format!(
                "{}: {what} differs from {} (- reference, + ours):\n{}",
                case.name,
                path.display(),
                diff(&expected, got)
            ));
        }
    }

    fn same(&mut self, case: &Case, what: &str, a: &str, b: &str) {
        if a != b {
            self.failures
                .push(format!("{}: {what}:\n{}", case.name, diff(a, b)));
        }
    }

    fn fail(&mut self, msg: String) {
        self.failures.push(msg);
    }
}

/// The generic properties of a .config text produced for `case`.
fn check_props(case: &Case, ck: &mut Checker, what: &str, dotconfig: &str, tmp: &Path) {
    if !case.props {
        return;
    }
    let res = (|| -> Result<(), String> {
        let cfg = tmp.join("prop.config");
        std::fs::write(&cfg, dotconfig).unwrap();
        case.run(&cfg, Action::Olddefconfig)?;
        ck.same(
            case,
            &format!("olddefconfig over the {what} result changed it"),
            dotconfig,
            &read(&cfg),
        );
        std::fs::write(&cfg, dotconfig).unwrap();
        let sd = tmp.join("prop.defconfig");
        case.run(&cfg, Action::Savedefconfig(sd.clone()))?;
        let back = tmp.join("prop-back.config");
        case.run(&back, Action::Defconfig(sd))?;
        ck.same(
            case,
            &format!("savedefconfig + defconfig of the {what} result differs"),
            dotconfig,
            &read(&back),
        );
        Ok(())
    })();
    if let Err(e) = res {
        ck.fail(e);
    }
}

/// Help texts as regen-expected.sh extracts them from `--helpnewconfig`.
fn help_texts(case: &Case) -> Result<String, String> {
    let tree = case.tree()?;
    let cfg = case.config(tree.clone());
    let mut out = String::new();
    for m in tree.walk() {
        let node = &tree.menus[m];
        if let (MenuKind::Symbol(s), Some(h)) = (node.kind, &node.help) {
            out.push_str(&format!("{}{}:\n{h}", cfg.prefix, tree.syms[s].name));
        }
    }
    Ok(out)
}

fn run_case(case: &Case, ck: &mut Checker) {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out.config");
    let mut warnings: Vec<String> = Vec::new();
    let mut keep = |o: &Outcome| warnings.extend(o.warnings.iter().map(|w| w.to_string()));
    for action in &case.actions {
        let _ = std::fs::remove_file(&out);
        let res = (|| -> Result<(), String> {
            match action.as_str() {
                "defconfig" | "savedefconfig" => {
                    let o = case.run(&out, Action::Defconfig(case.dir.join("defconfig")))?;
                    keep(&o);
                    let got = read(&out);
                    if action == "defconfig" {
                        ck.compare(case, action, "expected.defconfig.config", &got);
                        check_props(case, ck, action, &got, tmp.path());
                    } else {
                        let sd = tmp.path().join("saved");
                        keep(&case.run(&out, Action::Savedefconfig(sd.clone()))?);
                        ck.compare(case, action, "expected.savedefconfig", &read(&sd));
                    }
                }
                "olddefconfig" => {
                    std::fs::copy(case.dir.join("input.config"), &out).unwrap();
                    keep(&case.run(&out, Action::Olddefconfig)?);
                    let got = read(&out);
                    ck.compare(case, action, "expected.olddefconfig.config", &got);
                    check_props(case, ck, action, &got, tmp.path());
                }
                "olddefconfig-empty" => {
                    // No .config: kconfig falls back to the defconfig_list files.
                    keep(&case.run(&out, Action::Olddefconfig)?);
                    let got = read(&out);
                    ck.compare(case, action, "expected.olddefconfig-empty.config", &got);
                    check_props(case, ck, action, &got, tmp.path());
                }
                "alldefconfig" | "allnoconfig" | "allyesconfig" | "allmodconfig" => {
                    let a = Action::parse(action, None).unwrap();
                    keep(&case.run(&out, a)?);
                    let got = read(&out);
                    ck.compare(case, action, &format!("expected.{action}.config"), &got);
                    check_props(case, ck, action, &got, tmp.path());
                }
                "listnewconfig" => {
                    std::fs::copy(case.dir.join("input.config"), &out).unwrap();
                    let o = case.run(&out, Action::Listnewconfig)?;
                    keep(&o);
                    ck.compare(case, action, "expected.listnewconfig", &o.stdout);
                }
                "oldconfig" => {
                    // What `frontend::run` does for oldconfig, with stdin from a file.
                    let mut cfg = case.config(case.tree()?);
                    cfg.read(&case.dir.join("input.config"))
                        .map_err(|e| e.to_string())?;
                    let stdin = read(&case.dir.join("oldconfig.stdin"));
                    let mut stdout = Vec::new();
                    cfg.oldconfig(&mut Cursor::new(stdin), &mut stdout)
                        .map_err(|e| e.to_string())?;
                    let got = cfg.dotconfig();
                    ck.compare(case, action, "expected.oldconfig.config", &got);
                    let questions = String::from_utf8_lossy(&stdout);
                    ck.compare(
                        case,
                        "oldconfig questions",
                        "expected.oldconfig.stdout",
                        &questions,
                    );
                    check_props(case, ck, action, &got, tmp.path());
                }
                "help" => {
                    let got = help_texts(case)?;
                    ck.compare(case, action, "expected.help", &got);
                }
                "randconfig" => check_randconfig(case, ck, tmp.path())?,
                other => panic!("{}: unknown action {other}", case.name),
            }
            Ok(())
        })();
        if let Err(e) = res {
            ck.fail(format!("{}: {action}: {e}", case.name));
        }
    }
    for w in &case.warns {
        if !warnings.iter().any(|x| x.contains(w.as_str())) {
            ck.fail(format!(
                "{}: expected a warning containing {w:?}; got:\n{}",
                case.name,
                warnings.join("\n")
            ));
        }
    }
}

/// randconfig cannot match the reference (different random generators), so
/// check what it promises: the same KCONFIG_SEED gives the same output, the
/// output is a valid configuration (olddefconfig leaves it alone), and
/// different seeds explore different configurations.
fn check_randconfig(case: &Case, ck: &mut Checker, tmp: &Path) -> Result<(), String> {
    let mut seen = std::collections::BTreeSet::new();
    for seed in 1..=12u64 {
        std::env::set_var("KCONFIG_SEED", format!("{seed:#x}"));
        let a = tmp.join(format!("rand-{seed}-a"));
        let b = tmp.join(format!("rand-{seed}-b"));
        let o = case.run(&a, Action::Randconfig)?;
        if o.seed != Some(seed) {
            ck.fail(format!(
                "{}: randconfig used seed {:?}, not {seed}",
                case.name, o.seed
            ));
        }
        case.run(&b, Action::Randconfig)?;
        let (ta, tb) = (read(&a), read(&b));
        ck.same(
            case,
            &format!("randconfig seed {seed} is not reproducible"),
            &ta,
            &tb,
        );
        check_props(case, ck, &format!("randconfig (seed {seed})"), &ta, tmp);
        seen.insert(ta);
    }
    std::env::remove_var("KCONFIG_SEED");
    if seen.len() < 3 {
        ck.fail(format!(
            "{}: 12 randconfig seeds gave only {} different configurations",
            case.name,
            seen.len()
        ));
    }
    Ok(())
}

fn case_dirs(sub: &str) -> Vec<PathBuf> {
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(corpus().join(sub))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_dir())
        .collect();
    dirs.sort();
    dirs
}

#[test]
fn reference_outputs() {
    let _g = lock();
    let mut ck = Checker {
        failures: Vec::new(),
    };
    let only = std::env::var("KCONFIG_CASE").ok();
    let dirs = case_dirs("cases");
    assert!(!dirs.is_empty(), "the corpus went missing");
    for dir in dirs {
        let case = Case::load(&dir);
        if only.as_deref().is_some_and(|o| o != case.name) {
            continue;
        }
        assert!(!case.actions.is_empty(), "{}: no actions", case.name);
        case.set_env();
        run_case(&case, &mut ck);
        case.clear_env();
    }
    if !ck.failures.is_empty() {
        panic!(
            "{} conformance failure(s):\n\n{}",
            ck.failures.len(),
            ck.failures.join("\n")
        );
    }
}

#[test]
fn error_cases() {
    let _g = lock();
    let mut failures = Vec::new();
    for dir in case_dirs("errors") {
        let name = dir.file_name().unwrap().to_string_lossy().into_owned();
        let case = if dir.join("case.toml").exists() {
            Case::load(&dir)
        } else {
            Case {
                name: name.clone(),
                dir: dir.clone(),
                tool: "linux".into(),
                actions: Vec::new(),
                env: Vec::new(),
                warns: Vec::new(),
                props: false,
            }
        };
        case.set_env();
        let expected = read(&dir.join("expected.error"));
        let tmp = tempfile::tempdir().unwrap();
        let res = case.run(&tmp.path().join("out.config"), Action::Alldefconfig);
        match (expected.trim().is_empty(), res) {
            (true, Ok(_)) => {}
            (true, Err(e)) => failures.push(format!("{name}: must load, but: {e}")),
            (false, Ok(_)) => failures.push(format!("{name}: loaded, but must fail")),
            (false, Err(e)) => {
                for want in expected.lines().filter(|l| !l.trim().is_empty()) {
                    if !e.contains(want) {
                        failures.push(format!("{name}: error lacks {want:?}:\n{e}"));
                    }
                }
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}
