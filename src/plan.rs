//! The planner: from the configuration's values and the recipe registry, the
//! packages to build, their order, and an identity hash per package that
//! changes exactly when something that goes into its build changes.
//!
//! identity = sha256(recipe text, patches, sources' sha256, the package's
//! configuration symbols, toolchain identity, target, build dependencies'
//! identities). It reads recipes and patch files; it writes nothing.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use petgraph::graphmap::DiGraphMap;
use sha2::{Digest, Sha256};

use crate::package::{Package, Registry, Variant};
use crate::target::Target;

/// What the planner needs.
#[derive(Debug, Clone, Copy)]
pub struct PlanInput<'a> {
    pub registry: &'a Registry,
    /// Configuration values by symbol (see `kconfig::Config::values`).
    pub values: &'a BTreeMap<String, String>,
    pub target: &'a Target,
    /// Identifies the cross toolchain (its kind, version, flags).
    pub toolchain_id: &'a str,
    /// Identifies the host toolchain used for host packages.
    pub host_toolchain_id: &'a str,
    /// The tree's top (config files named by symbols are relative to it).
    pub top: &'a Path,
}

/// One package to build.
#[derive(Debug, Clone)]
pub struct Node {
    /// `zlib` or `host-zlib`.
    pub name: String,
    /// The recipe's name (`zlib`).
    pub package: String,
    pub variant: Variant,
    /// Indices (into `Plan::nodes`) of build dependencies.
    pub build_deps: Vec<usize>,
    /// Indices of runtime dependencies.
    pub runtime_deps: Vec<usize>,
    /// Hex sha256.
    pub identity: String,
    /// The configuration symbols that went into the identity.
    pub symbols: BTreeMap<String, String>,
}

/// The packages to build, dependencies before dependents.
#[derive(Debug, Clone, Default)]
pub struct Plan {
    pub nodes: Vec<Node>,
    pub index: BTreeMap<String, usize>,
}

impl Plan {
    pub fn get(&self, name: &str) -> Option<&Node> {
        self.index.get(name).map(|&i| &self.nodes[i])
    }

    /// The node and every node it needs to build, in build order.
    pub fn closure(&self, name: &str) -> Vec<usize> {
        let mut want = BTreeSet::new();
        let mut stack: Vec<usize> = self.index.get(name).copied().into_iter().collect();
        while let Some(i) = stack.pop() {
            if want.insert(i) {
                stack.extend(&self.nodes[i].build_deps);
            }
        }
        want.into_iter().collect()
    }

    /// Graphviz text of the dependency graph (`graph-depends`).
    pub fn to_dot(&self) -> String {
        let mut s = String::from("digraph depends {\n  rankdir=LR;\n  node [shape=box];\n");
        for n in &self.nodes {
            let color = if n.variant == Variant::Host {
                "grey"
            } else {
                "black"
            };
            s.push_str(&format!("  \"{}\" [color={color}];\n", n.name));
            for &d in &n.build_deps {
                s.push_str(&format!(
                    "  \"{}\" -> \"{}\";\n",
                    n.name, self.nodes[d].name
                ));
            }
            for &d in &n.runtime_deps {
                s.push_str(&format!(
                    "  \"{}\" -> \"{}\" [style=dashed];\n",
                    n.name, self.nodes[d].name
                ));
            }
        }
        s.push_str("}\n");
        s
    }
}

/// Why no plan could be made.
#[derive(Debug, thiserror::Error)]
pub enum PlanError {
    #[error("{0}")]
    Dependency(String),
    #[error("dependency cycle: {0} (each is needed by the next)\n  hint: a package cannot need itself, directly or through others")]
    Cycle(String),
    #[error("{path}: {source}")]
    Io {
        path: std::path::PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// The dependencies of package `name`, as node names: a host tool's
/// dependencies are host tools too (`host-foo` needs `host-zlib` where the
/// recipe says `zlib`), as in Buildroot.
fn dep_names(reg: &Registry, name: &str) -> Result<(Vec<String>, Vec<String>), PlanError> {
    let (p, variant) = reg.resolve(name).map_err(PlanError::Dependency)?;
    let map = |list: &[toml::Spanned<String>]| -> Vec<String> {
        list.iter()
            .map(|d| {
                let d = d.get_ref();
                if variant == Variant::Host && !d.starts_with("host-") {
                    format!("host-{d}")
                } else {
                    d.clone()
                }
            })
            .collect()
    };
    Ok((
        map(&p.recipe.dependencies.build),
        map(&p.recipe.dependencies.runtime),
    ))
}

/// Makes the plan.
pub fn plan(input: PlanInput<'_>) -> Result<Plan, PlanError> {
    let reg = input.registry;
    // Selected target packages, then everything they need.
    let mut wanted: BTreeSet<String> = reg
        .packages
        .values()
        .filter(|p| p.recipe.variants.contains(&Variant::Target))
        .filter(|p| input.values.get(&p.symbol()).is_some_and(|v| v == "y"))
        .map(|p| p.name().to_string())
        .collect();
    let mut stack: Vec<String> = wanted.iter().cloned().collect();
    while let Some(name) = stack.pop() {
        let (p, _) = reg.resolve(&name).map_err(PlanError::Dependency)?;
        let (build, runtime) = dep_names(reg, &name)?;
        for d in build.into_iter().chain(runtime) {
            reg.resolve(&d).map_err(|e| {
                PlanError::Dependency(format!(
                    "{}: {e} (needed by {name})",
                    p.recipe_file.display()
                ))
            })?;
            if wanted.insert(d.clone()) {
                stack.push(d);
            }
        }
    }
    // Order them.
    let names: Vec<&String> = wanted.iter().collect();
    let id_of: BTreeMap<&str, u32> = names
        .iter()
        .enumerate()
        .map(|(i, n)| (n.as_str(), i as u32))
        .collect();
    let mut g: DiGraphMap<u32, ()> = DiGraphMap::new();
    for i in 0..names.len() as u32 {
        g.add_node(i);
    }
    for (i, name) in names.iter().enumerate() {
        let (build, runtime) = dep_names(reg, name)?;
        for d in build.iter().chain(&runtime) {
            if let Some(&j) = id_of.get(d.as_str()) {
                g.add_edge(j, i as u32, ());
            }
        }
    }
    let order = petgraph::algo::toposort(&g, None).map_err(|c| {
        let start = c.node_id();
        PlanError::Cycle(describe_cycle(&g, start, &names))
    })?;
    let mut plan = Plan::default();
    for &i in &order {
        let name = names[i as usize].clone();
        plan.index.insert(name, plan.nodes.len());
        let idx = plan.nodes.len();
        let (p, variant) = reg
            .resolve(names[i as usize])
            .map_err(PlanError::Dependency)?;
        let (build, runtime) = dep_names(reg, names[i as usize])?;
        let deps = |list: &[String]| -> Vec<usize> {
            list.iter()
                .filter_map(|d| plan.index.get(d).copied())
                .collect()
        };
        let build_deps = deps(&build);
        let runtime_deps = deps(&runtime);
        let symbols = package_symbols(p, input.values);
        let identity = identity(
            &input,
            p,
            variant,
            &symbols,
            build_deps.iter().map(|&d| plan.nodes[d].identity.as_str()),
        )?;
        plan.nodes.push(Node {
            name: names[i as usize].clone(),
            package: p.name().to_string(),
            variant,
            build_deps,
            runtime_deps,
            identity,
            symbols,
        });
        debug_assert_eq!(idx + 1, plan.nodes.len());
    }
    Ok(plan)
}

/// The configuration symbols that belong to a package: `BBSDK_PACKAGE_<NAME>_*`
/// and the symbols its recipe names (`build.options`, `build.kconfig`).
fn package_symbols(p: &Package, values: &BTreeMap<String, String>) -> BTreeMap<String, String> {
    let prefix = format!("{}_", p.symbol());
    let mut out: BTreeMap<String, String> = values
        .range(prefix.clone()..)
        .take_while(|(k, _)| k.starts_with(&prefix))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    let named =
        p.recipe
            .build
            .options
            .keys()
            .cloned()
            .chain(p.recipe.build.kconfig.iter().flat_map(|k| {
                std::iter::once(k.config_symbol.clone())
                    .chain(k.fragments_symbol.clone())
                    .chain(k.bool_symbols.keys().cloned())
            }));
    for k in named {
        out.insert(k.clone(), values.get(&k).cloned().unwrap_or_default());
    }
    out
}

fn identity<'a>(
    input: &PlanInput<'_>,
    p: &Package,
    variant: Variant,
    symbols: &BTreeMap<String, String>,
    deps: impl Iterator<Item = &'a str>,
) -> Result<String, PlanError> {
    let mut h = Sha256::new();
    let mut field = |k: &str, v: &[u8]| {
        h.update((k.len() as u64).to_le_bytes());
        h.update(k.as_bytes());
        h.update((v.len() as u64).to_le_bytes());
        h.update(v);
    };
    field("format", b"bbsdk-identity-1");
    field("name", p.name().as_bytes());
    field("recipe", p.recipe_text.as_bytes());
    for patch in &p.patches {
        let bytes = std::fs::read(patch).map_err(|e| PlanError::Io {
            path: patch.clone(),
            source: e,
        })?;
        field(
            "patch-name",
            patch
                .file_name()
                .map(|n| n.as_encoded_bytes())
                .unwrap_or_default(),
        );
        field("patch", &bytes);
    }
    for s in &p.recipe.sources {
        field("source", s.sha256.get_ref().as_bytes());
    }
    match variant {
        Variant::Target => {
            field("variant", b"target");
            field("target", input.target.gnu_tuple().as_bytes());
            field("toolchain", input.toolchain_id.as_bytes());
        }
        Variant::Host => {
            field("variant", b"host");
            field("toolchain", input.host_toolchain_id.as_bytes());
        }
    }
    for (k, v) in symbols {
        field(k, v.as_bytes());
    }
    // Config files named by kconfig-infrastructure symbols: their content counts.
    if let Some(k) = &p.recipe.build.kconfig {
        let files = std::iter::once(symbols.get(&k.config_symbol).cloned().unwrap_or_default())
            .chain(k.fragments_symbol.iter().flat_map(|s| {
                symbols
                    .get(s)
                    .map(|v| v.split_whitespace().map(str::to_string).collect::<Vec<_>>())
                    .unwrap_or_default()
            }));
        for f in files.filter(|f| !f.is_empty()) {
            let path = input.top.join(&f);
            let bytes = std::fs::read(&path).map_err(|e| PlanError::Io { path, source: e })?;
            field("config-file", &bytes);
        }
    }
    for d in deps {
        field("dep", d.as_bytes());
    }
    Ok(hex::encode(h.finalize()))
}

fn describe_cycle(g: &DiGraphMap<u32, ()>, start: u32, names: &[&String]) -> String {
    // Walk edges from `start` until we come back; a toposort failure means one exists.
    let mut path = vec![start];
    let mut seen = BTreeSet::from([start]);
    let mut cur = start;
    loop {
        let next = g.neighbors(cur).find(|n| {
            *n == start
                || (!seen.contains(n) && petgraph::algo::has_path_connecting(g, *n, start, None))
        });
        match next {
            Some(n) if n == start => break,
            Some(n) => {
                seen.insert(n);
                path.push(n);
                cur = n;
            }
            None => break,
        }
    }
    path.push(start);
    path.iter()
        .map(|&i| names[i as usize].as_str())
        .collect::<Vec<_>>()
        .join(" -> ")
}
