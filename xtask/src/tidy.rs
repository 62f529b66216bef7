//! Tidy tests: rules about the source tree itself, checked on every test run.
//!
//! - Every `.rs` file opens with a `//!` line saying what it is for.
//! - No two files of one crate import each other, directly or in a circle. A file imports another
//!   when its code (tests aside) names an item defined in that file, by `use` or by path; a name
//!   reached through a re-export (`pub use`) counts as an import of the file that defines it.
//!
//! The second rule is what keeps a crate's files in layers: what two files both need moves into a
//! third, lower one. The checker reads the code with `syn`, so comments, strings and `#[cfg(test)]`
//! items do not count.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};

use syn::visit::Visit;

/// Every `.rs` file the repository tracks, under `root`, except build output.
fn rust_files(root: &Path) -> Vec<PathBuf> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        let Ok(entries) = fs::read_dir(dir) else { return };
        for entry in entries.flatten() {
            let path = entry.path();
            let name = entry.file_name();
            if path.is_dir() {
                if name != "target" && !name.to_string_lossy().starts_with('.') {
                    walk(&path, out);
                }
            } else if path.extension().is_some_and(|e| e == "rs") {
                out.push(path);
            }
        }
    }
    let mut out = Vec::new();
    for top in ["crates", "xtask", "tests"] {
        walk(&root.join(top), &mut out);
    }
    out.sort();
    out
}

/// Which file modules each file module imports, with the first path (as written) naming each.
type Graph = BTreeMap<ModPath, BTreeMap<ModPath, String>>;

/// A module path inside one crate: `[]` is the crate root, `["firehose", "delivery"]` a file below.
type ModPath = Vec<String>;

/// One file-backed module: where it is, what it declares and what it names.
struct FileModule {
    file: PathBuf,
    /// Child modules declared with `mod name;` (file-backed) or `mod name { .. }` (inline).
    children: BTreeSet<String>,
    /// `use` bindings: the name in scope and the path it stands for, as written.
    uses: BTreeMap<String, Vec<String>>,
    /// Names of the items the file defines at its top level.
    defines: BTreeSet<String>,
    /// Glob imports (`use a::b::*`), as written.
    globs: Vec<Vec<String>>,
    /// Every path the code names, as written.
    paths: Vec<Vec<String>>,
}

/// Whether an item is `#[cfg(test)]`: only that exact form is test code (`cfg(not(test))` is not).
fn is_cfg_test(attrs: &[syn::Attribute]) -> bool {
    attrs.iter().any(|a| {
        a.path().is_ident("cfg") && a.meta.require_list().is_ok_and(|l| l.tokens.to_string() == "test")
    })
}

/// Flattens a `use` tree into (binding, path) pairs and glob paths.
fn flatten_use(tree: &syn::UseTree, prefix: &mut Vec<String>, out: &mut Vec<(Option<String>, Vec<String>)>) {
    match tree {
        syn::UseTree::Path(p) => {
            prefix.push(p.ident.to_string());
            flatten_use(&p.tree, prefix, out);
            prefix.pop();
        }
        syn::UseTree::Name(n) => {
            let mut path = prefix.clone();
            let name = n.ident.to_string();
            if name != "self" {
                path.push(name.clone());
            }
            let binding = path.last().cloned();
            out.push((binding, path));
        }
        syn::UseTree::Rename(r) => {
            let mut path = prefix.clone();
            if r.ident != "self" {
                path.push(r.ident.to_string());
            }
            let binding = (r.rename != "_").then(|| r.rename.to_string());
            out.push((binding, path));
        }
        syn::UseTree::Glob(_) => out.push((None, prefix.clone())),
        syn::UseTree::Group(g) => {
            for item in &g.items {
                flatten_use(item, prefix, out);
            }
        }
    }
}

/// Collects what one file declares and names, skipping `#[cfg(test)]` items.
struct Collector<'m> {
    module: &'m mut FileModule,
}

impl<'ast> Visit<'ast> for Collector<'_> {
    fn visit_item(&mut self, item: &'ast syn::Item) {
        let attrs = match item {
            syn::Item::Mod(m) => &m.attrs,
            syn::Item::Fn(f) => &f.attrs,
            syn::Item::Impl(i) => &i.attrs,
            syn::Item::Use(u) => &u.attrs,
            syn::Item::Struct(s) => &s.attrs,
            syn::Item::Enum(e) => &e.attrs,
            syn::Item::Const(c) => &c.attrs,
            syn::Item::Static(s) => &s.attrs,
            syn::Item::Trait(t) => &t.attrs,
            syn::Item::Type(t) => &t.attrs,
            syn::Item::Macro(m) => &m.attrs,
            _ => return syn::visit::visit_item(self, item),
        };
        if is_cfg_test(attrs) {
            return;
        }
        match item {
            syn::Item::Mod(m) => {
                self.module.children.insert(m.ident.to_string());
                // An inline module's code is this file's code; its names are resolved as if they
                // were written at the top, which is close enough for the few inline modules here.
                syn::visit::visit_item_mod(self, m);
            }
            // `use ::name` and `::name::..` are other crates.
            syn::Item::Use(u) if u.leading_colon.is_some() => {}
            syn::Item::Use(u) => {
                let mut flat = Vec::new();
                flatten_use(&u.tree, &mut Vec::new(), &mut flat);
                for (binding, path) in flat {
                    match binding {
                        Some(name) => {
                            self.module.uses.insert(name, path.clone());
                        }
                        None if !path.is_empty() => self.module.globs.push(path.clone()),
                        None => {}
                    }
                    self.module.paths.push(path);
                }
            }
            _ => syn::visit::visit_item(self, item),
        }
    }

    /// `pub(crate)` and `pub(in path)` name a scope, not an item.
    fn visit_visibility(&mut self, _: &'ast syn::Visibility) {}

    fn visit_path(&mut self, path: &'ast syn::Path) {
        if path.leading_colon.is_some() {
            return;
        }
        let segments: Vec<String> = path.segments.iter().map(|s| s.ident.to_string()).collect();
        self.module.paths.push(segments);
        syn::visit::visit_path(self, path);
    }
}

/// One crate's file modules, by module path.
struct Crate {
    name: String,
    modules: BTreeMap<ModPath, FileModule>,
}

impl Crate {
    /// Reads the crate rooted at `root` (its `lib.rs` or `main.rs`), following `mod name;`.
    fn read(name: &str, root: &Path) -> Crate {
        let mut krate = Crate { name: name.to_string(), modules: BTreeMap::new() };
        krate.read_module(Vec::new(), root);
        krate
    }

    fn read_module(&mut self, path: ModPath, file: &Path) {
        let text = fs::read_to_string(file).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
        let ast = syn::parse_file(&text).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
        let mut module = FileModule {
            file: file.to_path_buf(),
            children: BTreeSet::new(),
            uses: BTreeMap::new(),
            defines: BTreeSet::new(),
            globs: Vec::new(),
            paths: Vec::new(),
        };
        let mut file_children = Vec::new();
        for item in &ast.items {
            let ident = match item {
                syn::Item::Const(i) => Some(&i.ident),
                syn::Item::Enum(i) => Some(&i.ident),
                syn::Item::Fn(i) => Some(&i.sig.ident),
                syn::Item::Mod(i) => Some(&i.ident),
                syn::Item::Static(i) => Some(&i.ident),
                syn::Item::Struct(i) => Some(&i.ident),
                syn::Item::Trait(i) => Some(&i.ident),
                syn::Item::Type(i) => Some(&i.ident),
                syn::Item::Union(i) => Some(&i.ident),
                syn::Item::Macro(i) => i.ident.as_ref(),
                _ => None,
            };
            module.defines.extend(ident.map(ToString::to_string));
            if let syn::Item::Mod(m) = item
                && m.content.is_none()
                && !is_cfg_test(&m.attrs)
            {
                file_children.push(m.ident.to_string());
            }
        }
        Collector { module: &mut module }.visit_file(&ast);
        let dir = match file.file_name().and_then(|n| n.to_str()) {
            Some("lib.rs" | "main.rs" | "mod.rs") => {
                file.parent().expect("a file has a folder").to_path_buf()
            }
            _ => file.with_extension(""),
        };
        self.modules.insert(path.clone(), module);
        for child in file_children {
            let flat = dir.join(format!("{child}.rs"));
            let nested = dir.join(&child).join("mod.rs");
            let child_file = if flat.exists() { flat } else { nested };
            let mut child_path = path.clone();
            child_path.push(child);
            self.read_module(child_path, &child_file);
        }
    }

    /// The absolute module path a path written in `from` starts at, or `None` for another crate.
    fn anchor(&self, from: &ModPath, written: &[String]) -> Option<Vec<String>> {
        let module = &self.modules[from];
        let (first, rest) = written.split_first()?;
        match first.as_str() {
            "crate" => Some(rest.to_vec()),
            "self" => Some(from.iter().chain(rest).cloned().collect()),
            "super" => {
                let mut base = from.clone();
                base.pop();
                let mut rest = rest;
                while let Some(("super", tail)) = rest.split_first().map(|(h, t)| (h.as_str(), t)) {
                    base.pop();
                    rest = tail;
                }
                Some(base.into_iter().chain(rest.iter().cloned()).collect())
            }
            name if module.children.contains(name) => Some(from.iter().chain(written).cloned().collect()),
            name => {
                let bound = module.uses.get(name)?;
                if bound.as_slice() == written {
                    return None;
                }
                let base = self.anchor(from, bound)?;
                Some(base.into_iter().chain(rest.iter().cloned()).collect())
            }
        }
    }

    /// The file module that defines what `absolute` names, following re-exports.
    fn defining_module(&self, absolute: &[String], depth: usize) -> Option<ModPath> {
        let split = (0..=absolute.len()).rev().find(|&k| self.modules.contains_key(&absolute[..k]))?;
        let (module_path, rest) = absolute.split_at(split);
        let module_path = module_path.to_vec();
        let Some(name) = rest.first() else { return Some(module_path) };
        let module = &self.modules[&module_path];
        if module.defines.contains(name) || depth >= 8 {
            return Some(module_path);
        }
        if let Some(bound) = module.uses.get(name)
            && let Some(base) = self.anchor(&module_path, bound)
        {
            let target: Vec<String> = base.into_iter().chain(rest[1..].iter().cloned()).collect();
            return self.defining_module(&target, depth + 1);
        }
        for glob in &module.globs {
            if let Some(base) = self.anchor(&module_path, glob) {
                let target: Vec<String> = base.into_iter().chain(rest.iter().cloned()).collect();
                if let Some(found) = self.defining_module(&target, depth + 1)
                    && self.modules[&found].defines.contains(name)
                {
                    return Some(found);
                }
            }
        }
        Some(module_path)
    }

    /// Which file modules each file module imports, with the first path naming each.
    fn imports(&self) -> Graph {
        let mut graph = Graph::new();
        for (from, module) in &self.modules {
            let edges = graph.entry(from.clone()).or_default();
            for written in &module.paths {
                let Some(absolute) = self.anchor(from, written) else { continue };
                let Some(target) = self.defining_module(&absolute, 0) else { continue };
                if &target != from {
                    edges.entry(target).or_insert_with(|| written.join("::"));
                }
            }
        }
        graph
    }

    fn display(&self, module: &ModPath) -> String {
        let file = &self.modules[module].file;
        let root = crate::workspace_root();
        file.strip_prefix(&root).unwrap_or(file).display().to_string()
    }
}

/// The strongly connected groups of more than one file in `graph` (Tarjan's algorithm).
fn circles(graph: &Graph) -> Vec<Vec<ModPath>> {
    struct State<'g> {
        graph: &'g Graph,
        index: BTreeMap<&'g ModPath, usize>,
        low: BTreeMap<&'g ModPath, usize>,
        stack: Vec<&'g ModPath>,
        found: Vec<Vec<ModPath>>,
    }
    fn connect<'g>(s: &mut State<'g>, v: &'g ModPath) {
        let n = s.index.len();
        s.index.insert(v, n);
        s.low.insert(v, n);
        s.stack.push(v);
        for w in s.graph[v].keys() {
            if !s.index.contains_key(w) {
                connect(s, w);
                let low = s.low[v].min(s.low[w]);
                s.low.insert(v, low);
            } else if s.stack.contains(&w) {
                let low = s.low[v].min(s.index[w]);
                s.low.insert(v, low);
            }
        }
        if s.low[v] == s.index[v] {
            let mut group = Vec::new();
            while let Some(w) = s.stack.pop() {
                group.push(w.clone());
                if w == v {
                    break;
                }
            }
            if group.len() > 1 {
                group.sort();
                s.found.push(group);
            }
        }
    }
    let mut state =
        State { graph, index: BTreeMap::new(), low: BTreeMap::new(), stack: Vec::new(), found: Vec::new() };
    for v in graph.keys() {
        if !state.index.contains_key(v) {
            connect(&mut state, v);
        }
    }
    state.found
}

/// Every crate of the workspace, with its library and binary roots.
fn crates(root: &Path) -> Vec<Crate> {
    let mut out = Vec::new();
    let mut dirs: Vec<PathBuf> = fs::read_dir(root.join("crates"))
        .expect("crates/ exists")
        .flatten()
        .map(|e| e.path())
        .chain([root.join("xtask"), root.join("tests")])
        .collect();
    dirs.sort();
    for dir in dirs {
        let name = dir.file_name().expect("a crate folder has a name").to_string_lossy().to_string();
        for candidate in [dir.join("src/lib.rs"), dir.join("src/main.rs"), dir.join("lib.rs")] {
            if candidate.exists() {
                out.push(Crate::read(&name, &candidate));
            }
        }
    }
    out
}

/// What the circle rule finds, one line per circle: the shortest way round it from its first file,
/// with the path each file imports the next by, and every file caught in it.
fn circle_report(krate: &Crate) -> Vec<String> {
    let graph = krate.imports();
    circles(&graph)
        .into_iter()
        .map(|group| {
            let members: BTreeSet<&ModPath> = group.iter().collect();
            let start = &group[0];
            // Breadth-first from the start, inside the group, until an edge leads back to it.
            let mut came_from: BTreeMap<&ModPath, &ModPath> = BTreeMap::new();
            let mut queue = std::collections::VecDeque::from([start]);
            let mut last = None;
            while let Some(v) = queue.pop_front() {
                if graph[v].contains_key(start) {
                    last = Some(v);
                    break;
                }
                for w in graph[v].keys().filter(|w| members.contains(w)) {
                    if w != start && !came_from.contains_key(w) {
                        came_from.insert(w, v);
                        queue.push_back(w);
                    }
                }
            }
            let mut way = vec![start];
            let mut v = last.expect("a circle leads back to where it starts");
            while v != start {
                way.insert(1, v);
                v = came_from[v];
            }
            way.push(start);
            let mut text = krate.display(start);
            for pair in way.windows(2) {
                text += &format!(" → {} (`{}`)", krate.display(pair[1]), graph[pair[0]][pair[1]]);
            }
            let all: Vec<String> = group.iter().map(|m| krate.display(m)).collect();
            format!("crate {}: {text}; in this circle: {}", krate.name, all.join(", "))
        })
        .collect()
}

#[test]
fn every_rust_file_opens_with_a_doc_line_saying_what_it_is_for() {
    let root = crate::workspace_root();
    let files = rust_files(&root);
    assert!(files.len() > 50, "found only {} .rs files under {}", files.len(), root.display());
    let missing: Vec<String> = files
        .iter()
        .filter(|f| !fs::read_to_string(f).is_ok_and(|t| t.trim_start().starts_with("//!")))
        .map(|f| f.strip_prefix(&root).unwrap_or(f).display().to_string())
        .collect();
    assert!(missing.is_empty(), "files without a leading //! line:\n  {}", missing.join("\n  "));
}

#[test]
fn no_two_files_of_a_crate_import_each_other() {
    let root = crate::workspace_root();
    let crates = crates(&root);
    assert!(crates.iter().any(|c| c.name == "verifier" && c.modules.len() > 10), "the verifier was not read");
    let found: Vec<String> = crates.iter().flat_map(circle_report).collect();
    assert!(found.is_empty(), "{}", found.join("\n"));
}

#[test]
fn the_circle_rule_sees_uses_paths_re_exports_and_parents() {
    let dir = std::env::temp_dir().join(format!("tidy-{}", std::process::id()));
    let src = dir.join("src");
    fs::create_dir_all(src.join("sink")).unwrap();
    let files = [
        ("lib.rs", "//! r\nmod a;\nmod b;\nmod c;\nmod f;\nmod g;\nmod sink;\npub use b::Thing;\n"),
        // A glob import is an import of the module it reads.
        ("f.rs", "//! f\nuse crate::g::*;\npub(crate) fn ff() { gg(); }\n"),
        ("g.rs", "//! g\npub(crate) fn gg() {}\nfn x() { crate::f::ff(); }\n"),
        // `a` names `b` through the root's re-export; `b` names `a` by a plain path.
        ("a.rs", "//! a\npub(crate) fn f() -> crate::Thing { crate::Thing }\n"),
        ("b.rs", "//! b\npub struct Thing;\nfn g() { crate::a::f(); }\n"),
        // `c` names `a` only in its tests: no import.
        ("c.rs", "//! c\n#[cfg(test)]\nmod tests { use crate::a::f; }\n"),
        // A parent that calls its child, and a child that uses the parent's own item.
        ("sink/mod.rs", "//! s\nmod s3;\npub(crate) struct Config;\nfn run() { s3::flush(); }\n"),
        (
            "sink/s3.rs",
            "//! s3\nuse super::Config;\npub(crate) fn flush() { let _c: Option<Config> = None; }\n",
        ),
    ];
    for (name, text) in files {
        fs::write(src.join(name), text).unwrap();
    }
    let krate = Crate::read("sample", &src.join("lib.rs"));
    let found = circle_report(&krate);
    fs::remove_dir_all(&dir).unwrap();
    let joined = found.join("\n");
    assert_eq!(found.len(), 3, "{joined}");
    assert!(joined.contains("f.rs → ") && joined.contains("g.rs (`crate::g`) → "), "{joined}");
    assert!(joined.contains("a.rs → ") && joined.contains("b.rs (`crate::Thing`) → "), "{joined}");
    assert!(joined.contains("a.rs (`crate::a::f`);"), "{joined}");
    assert!(joined.contains("sink/mod.rs → ") && joined.contains("s3.rs (`s3::flush`) → "), "{joined}");
    assert!(joined.contains("sink/mod.rs (`super::Config`);"), "{joined}");
    assert!(!joined.contains("c.rs"), "{joined}");
}
