//! Random project shapes and the grammar of edits users and their tools make, as concrete steps
//! that can be printed, replayed and dropped (a step that no longer applies does nothing).

use super::model::{flag_class, File, Model, Module, ENTRY, FLAGS};
use super::rng::Rng;
use std::collections::BTreeSet;
use std::fmt;

/// Standard modules the smallest app does not bundle, so importing one changes the archive.
const UNBUNDLED: &[&str] = &["colorsys", "wave", "sched", "netrc", "tabnanny"];
/// Standard modules every app bundles anyway.
const BUNDLED: &[&str] = &["os", "re", "collections", "textwrap", "json"];
/// Values, including constants CPython interns or shares (one-character strings, brackets).
const VALUES: &[&str] =
    &["one", "two", "three", "[", "]", "{", "}", "", " ", "a b", "netrc", "sched", "tabnanny", "colorsys", "ü", "x"];

/// Ways the installed sidecar gets damaged between builds.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Damage {
    /// Deleted (a `git clean`, a cleanup script).
    Delete,
    /// Replaced by a truncated copy (an interrupted copy).
    Truncate,
    /// Replaced by a copy with a byte appended.
    Append,
    /// One byte changed in the file itself (a tool editing it in place; class 5).
    InPlace,
    /// Its execute bit removed (found by this harness: class 7, cargo does not rerun the build
    /// script for a mode change, so the sidecar stays unrunnable).
    NotExecutable,
}

#[derive(Clone, Debug, PartialEq)]
pub enum Op {
    SetValue(String, String),
    AddFunc(String, String),
    RemoveFunc(String, String),
    AddGlobal(String, String),
    RemoveGlobal(String, String),
    AddImport(String, String),
    RemoveImport(String, String),
    Break(String),
    Fix(String),
    AddModule(String),
    Remove(String),
    Rename(String, String),
    Chmod(String, bool),
    Touch(String),
    WriteData(String, String),
    Link(String, String),
    SpecFlag(String, bool),
    SpecHidden(Vec<String>),
    SpecNote(u32),
    Hook(String, Vec<String>),
    Env(String, Option<String>),
    Damage(Damage),
    /// Back to the tree as it was before step `n` (a revert, a branch switched back).
    Revert(usize),
    /// A build with nothing changed.
    Nothing,
}

impl fmt::Display for Op {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Op::SetValue(p, v) => write!(f, "{p}: VALUE = {v:?}"),
            Op::AddFunc(p, n) => write!(f, "{p}: add def {n}()"),
            Op::RemoveFunc(p, n) => write!(f, "{p}: remove def {n}()"),
            Op::AddGlobal(p, n) => write!(f, "{p}: add global {n}"),
            Op::RemoveGlobal(p, n) => write!(f, "{p}: remove global {n}"),
            Op::AddImport(p, s) => write!(f, "{p}: add {s:?}"),
            Op::RemoveImport(p, s) => write!(f, "{p}: remove {s:?}"),
            Op::Break(p) => write!(f, "{p}: add a syntax error"),
            Op::Fix(p) => write!(f, "{p}: fix the syntax error"),
            Op::AddModule(p) => write!(f, "add module {p}"),
            Op::Remove(p) => write!(f, "remove {p}"),
            Op::Rename(a, b) => write!(f, "rename {a} -> {b}"),
            Op::Chmod(p, x) => write!(f, "chmod {} {p}", if *x { "+x" } else { "-x" }),
            Op::Touch(p) => write!(f, "touch {p}"),
            Op::WriteData(p, t) => write!(f, "write {p} = {t:?}"),
            Op::Link(p, t) => write!(f, "symlink {p} -> {t}"),
            Op::SpecFlag(n, on) => write!(f, "spec: {} {n}", if *on { "enable" } else { "disable" }),
            Op::SpecHidden(h) => write!(f, "spec: hiddenimports {h:?}"),
            Op::SpecNote(n) => write!(f, "spec: comment {n}"),
            Op::Hook(p, h) => write!(f, "{p}: hiddenimports = {h:?}"),
            Op::Env(n, v) => write!(f, "env {n}={v:?}"),
            Op::Damage(d) => write!(f, "damage the installed binary: {d:?}"),
            Op::Revert(n) => write!(f, "revert to before step {n}"),
            Op::Nothing => write!(f, "build again, nothing changed"),
        }
    }
}

/// The opt-in generators: classes of known stale binaries not yet fixed.
#[derive(Clone, Debug, Default)]
pub struct Classes(pub BTreeSet<u8>);

impl Classes {
    pub fn on(&self, class: u8) -> bool {
        class == 0 || self.0.contains(&class)
    }
}

/// A project shape: which features the spec uses, which packages and data exist.
pub fn shape(rng: &mut Rng, classes: &Classes) -> Model {
    let mut m = Model::default();
    let requirements = include_str!("../../fixtures/soundness/python/requirements.txt");
    m.files.insert("python/requirements.txt".into(), File::Text(requirements.into()));
    for flag in FLAGS {
        if classes.on(flag_class(flag)) && rng.chance(35) {
            m.spec.flags.insert(flag.to_string());
        }
    }
    let module = |rng: &mut Rng, imports: Vec<String>| {
        File::Module(Module { imports, value: rng.pick(VALUES).to_string(), ..Module::default() })
    };
    let mut entry_imports = vec!["import pj_mod0".to_string(), "from pj_pkg import pj_sub0".to_string()];
    m.files.insert("python/pj_mod0.py".into(), module(rng, vec!["import pj_mod1".into()]));
    m.files.insert("python/pj_mod1.py".into(), module(rng, vec![]));
    m.files.insert("python/pj_pkg/__init__.py".into(), module(rng, vec![]));
    m.files.insert("python/pj_pkg/pj_sub0.py".into(), module(rng, vec!["from . import pj_sub1".into()]));
    m.files.insert("python/pj_pkg/pj_sub1.py".into(), module(rng, vec![]));
    if rng.chance(50) {
        m.files.insert("python/pj_ns/pj_tool.py".into(), module(rng, vec![]));
        entry_imports.push("import pj_ns.pj_tool".into());
    }
    if rng.chance(30) {
        // A file two module names share: a symlink next to its target.
        m.files.insert("python/pj_link.py".into(), File::Link("pj_mod1.py".into()));
        entry_imports.push("import pj_link".into());
    }
    if m.has("config_import") {
        m.files.insert("python/pj_spec_config.py".into(), module(rng, vec![]));
    }
    if m.has("pathex_outside") {
        m.files.insert("outside/lib/pj_ext.py".into(), module(rng, vec![]));
        entry_imports.push("import pj_ext".into());
        entry_imports.push("try:\n    import pj_ext_opt\nexcept ImportError:\n    pass".into());
    }
    if m.has("hooks_inside") {
        m.files.insert("python/hooks/hook-pj_mod0.py".into(), File::Text(hook(&[])));
    }
    if m.has("hooks_outside") {
        m.files.insert("outside/hooks/hook-pj_mod1.py".into(), File::Text(hook(&[])));
    }
    if m.has("datas") {
        m.files.insert("python/data/a.txt".into(), File::Text("a".into()));
        m.files.insert("python/data/sub/b.txt".into(), File::Text("b".into()));
    }
    entry_imports.push("try:\n    import pj_addon\nexcept ImportError:\n    pass".into());
    m.files.insert(ENTRY.into(), module(rng, entry_imports));
    // Drawn last: with class 8 off, every seed gives the project it always gave.
    m.extract_once = classes.on(8) && rng.chance(25);
    m
}

pub fn hook(hidden: &[String]) -> String {
    format!("hiddenimports = {}\n", super::model::py_list(hidden))
}

/// A random step that applies to `m` (and is then applied to it by the caller).
pub fn generate(rng: &mut Rng, m: &Model, step: usize, classes: &Classes) -> Op {
    loop {
        if let Some(op) = try_generate(rng, m, step, classes) {
            return op;
        }
    }
}

fn try_generate(rng: &mut Rng, m: &Model, step: usize, classes: &Classes) -> Option<Op> {
    let modules = m.modules();
    let module = rng.pick(&modules).clone();
    let get = |p: &str| match m.files.get(p) {
        Some(File::Module(x)) => Some(x.clone()),
        _ => None,
    };
    let op = match rng.below(100) {
        0..=21 => Op::SetValue(module, rng.pick(VALUES).to_string()),
        22..=27 => Op::AddFunc(module, format!("f_{}", rng.below(4))),
        28..=29 => {
            let x = get(&module).filter(|x| !x.funcs.is_empty())?;
            Op::RemoveFunc(module, rng.pick(&x.funcs).clone())
        }
        30..=33 => {
            // A global named like a submodule of the package: modulegraph then tries the
            // submodule first (class 6).
            let name = if classes.on(6) && rng.chance(50) {
                format!("pj_sub{}", rng.below(4))
            } else {
                format!("g_{}", rng.below(4))
            };
            Op::AddGlobal(module, name)
        }
        34 => {
            let x = get(&module).filter(|x| !x.globals.is_empty())?;
            Op::RemoveGlobal(module, rng.pick(&x.globals).clone())
        }
        35..=46 => Op::AddImport(module.clone(), import_stmt(rng, m, &module, classes)?),
        47..=50 => {
            let x = get(&module).filter(|x| !x.imports.is_empty())?;
            Op::RemoveImport(module, rng.pick(&x.imports).clone())
        }
        51..=52 => Op::Break(module),
        53..=55 => {
            let broken: Vec<String> = modules.iter().filter(|p| get(p).is_some_and(|x| x.broken)).cloned().collect();
            if broken.is_empty() {
                return None;
            }
            Op::Fix(rng.pick(&broken).clone())
        }
        56..=59 => {
            let pool = [
                "python/pj_mod2.py",
                "python/pj_pkg/pj_sub2.py",
                "python/pj_pkg/pj_sub3.py",
                "python/pj_addon.py",
                "python/pj_ns/pj_other.py",
                "outside/lib/pj_ext_opt.py",
                "python/pj_new/__init__.py",
            ];
            let p = rng.pick(&pool).to_string();
            if m.files.contains_key(&p) {
                return None;
            }
            Op::AddModule(p)
        }
        60..=61 => {
            let all: Vec<&String> = m.files.keys().filter(|p| p.as_str() != ENTRY).collect();
            Op::Remove(rng.pick(&all).to_string())
        }
        62..=63 => {
            if module == ENTRY {
                return None;
            }
            let to = rng.pick(&["python/pj_mod3.py", "python/pj_pkg/pj_sub3.py", "python/pj_addon.py"]).to_string();
            if m.files.contains_key(&to) {
                return None;
            }
            Op::Rename(module, to)
        }
        64..=65 => {
            let all: Vec<&String> = m.files.keys().collect();
            Op::Chmod(rng.pick(&all).to_string(), rng.chance(50))
        }
        66..=67 => Op::Touch(rng.pick(&m.files.keys().collect::<Vec<_>>()).to_string()),
        68..=72 => {
            if !m.has("datas") {
                return None;
            }
            let mut pool = vec!["python/data/a.txt", "python/data/sub/b.txt", "python/data/c.json"];
            if classes.on(4) {
                // What the project scan skips but PyInstaller collects (class 4).
                pool.extend(["python/data/.env", "python/data/dist/app.js", "python/data/build/x.txt"]);
            }
            Op::WriteData(rng.pick(&pool).to_string(), rng.pick(VALUES).to_string())
        }
        73 => {
            if m.files.contains_key("python/pj_link.py") {
                return None;
            }
            Op::Link("python/pj_link.py".into(), rng.pick(&["pj_mod1.py", "pj_mod0.py"]).to_string())
        }
        74..=79 => {
            let flag = rng.pick(FLAGS);
            if !classes.on(flag_class(flag)) {
                return None;
            }
            Op::SpecFlag(flag.to_string(), !m.has(flag))
        }
        80..=81 => {
            let mut hidden = Vec::new();
            for n in UNBUNDLED.iter().chain(["pj_mod2", "pj_pkg.pj_sub2"].iter()) {
                if rng.chance(20) {
                    hidden.push(n.to_string());
                }
            }
            Op::SpecHidden(hidden)
        }
        82 => Op::SpecNote(rng.below(1000) as u32),
        83..=85 => {
            let hooks: Vec<&String> = m.files.keys().filter(|p| p.contains("hooks/hook-")).collect();
            if hooks.is_empty() {
                return None;
            }
            let hidden = UNBUNDLED.iter().filter(|_| rng.chance(30)).map(|s| s.to_string()).collect();
            Op::Hook(rng.pick(&hooks).to_string(), hidden)
        }
        86..=88 => {
            let name = rng.pick(&["DIFF_FLAVOR", "DIFF_UNUSED"]).to_string();
            let value = match rng.below(3) {
                0 => None,
                1 => Some("rich".into()),
                _ => Some("plain".into()),
            };
            Op::Env(name, value)
        }
        89..=92 => {
            let mut kinds = vec![Damage::Delete, Damage::Truncate, Damage::Append];
            if classes.on(5) {
                kinds.push(Damage::InPlace);
            }
            if classes.on(7) {
                kinds.push(Damage::NotExecutable);
            }
            Op::Damage(*rng.pick(&kinds))
        }
        93..=96 => {
            if step == 0 {
                return None;
            }
            Op::Revert(rng.below(step))
        }
        _ => Op::Nothing,
    };
    Some(op)
}

/// An import statement of one of the forms Python has, of a project or standard module.
fn import_stmt(rng: &mut Rng, m: &Model, module: &str, classes: &Classes) -> Option<String> {
    let mut names: Vec<String> = m.modules().iter().filter_map(|p| Model::module_name(p)).collect();
    names.retain(|n| n != "pj_app" || classes.on(2));
    names.extend(["pj_addon", "pj_mod2", "pj_pkg.pj_sub2"].map(String::from));
    names.extend(UNBUNDLED.iter().chain(BUNDLED).map(|s| s.to_string()));
    let target = rng.pick(&names).clone();
    let self_name = Model::module_name(module)?;
    if target == self_name {
        return None;
    }
    let in_pkg = module.starts_with("python/pj_pkg/");
    let (parent, leaf) = match target.rsplit_once('.') {
        Some((p, l)) => (p.to_string(), l.to_string()),
        None => (String::new(), target.clone()),
    };
    Some(match rng.below(11) {
        0 => format!("import {target}"),
        1 => format!("import {target} as _{}", leaf),
        2 if !parent.is_empty() => format!("from {parent} import {leaf}"),
        2 => format!("from pj_pkg import {}", rng.pick(&["pj_sub0", "pj_sub1", "pj_sub2", "pj_sub3", "g_0"])),
        3 => format!("from {target} import *"),
        4 if in_pkg => format!("from . import {}", rng.pick(&["pj_sub0", "pj_sub1", "pj_sub2", "pj_sub3"])),
        4 => format!("from {target} import VALUE as _v_{leaf}"),
        5 => format!("try:\n    import {target}\nexcept ImportError:\n    pass"),
        6 => format!("def _lazy_{leaf}():\n    import {target}"),
        7 => format!("if False:\n    import {target}"),
        8 => format!("_m_{leaf} = __import__({target:?})"),
        9 => format!("import importlib as _il\ntry:\n    _il.import_module({target:?})\nexcept ImportError:\n    pass"),
        _ => format!("from {target} import VALUE as _w_{leaf}"),
    })
}

impl Op {
    /// The opt-in class a step belongs to (0: none), so a report tells a known class from a new one.
    pub fn class(&self) -> u8 {
        match self {
            Op::SpecFlag(flag, true) => flag_class(flag),
            Op::AddGlobal(_, name) if name.starts_with("pj_sub") => 6,
            Op::AddImport(_, stmt) if stmt.contains("pj_app") => 2,
            Op::WriteData(p, _) if ["/.env", "/dist/", "/build/"].iter().any(|x| p.contains(x)) => 4,
            Op::Damage(Damage::InPlace) => 5,
            Op::Damage(Damage::NotExecutable) => 7,
            _ => 0,
        }
    }

    /// Applies a step to the model; false when it no longer applies (a dropped step's file).
    pub fn apply(&self, m: &mut Model) -> bool {
        let mut module = |p: &str, f: &mut dyn FnMut(&mut Module) -> bool| m.module_mut(p).is_some_and(f);
        match self {
            Op::SetValue(p, v) => module(p, &mut |x| {
                x.value = v.clone();
                true
            }),
            Op::AddFunc(p, n) => module(p, &mut |x| add(&mut x.funcs, n)),
            Op::RemoveFunc(p, n) => module(p, &mut |x| remove(&mut x.funcs, n)),
            Op::AddGlobal(p, n) => module(p, &mut |x| add(&mut x.globals, n)),
            Op::RemoveGlobal(p, n) => module(p, &mut |x| remove(&mut x.globals, n)),
            Op::AddImport(p, s) => module(p, &mut |x| add(&mut x.imports, s)),
            Op::RemoveImport(p, s) => module(p, &mut |x| remove(&mut x.imports, s)),
            Op::Break(p) => module(p, &mut |x| !std::mem::replace(&mut x.broken, true)),
            Op::Fix(p) => module(p, &mut |x| std::mem::replace(&mut x.broken, false)),
            Op::AddModule(p) => {
                if m.files.contains_key(p) {
                    return false;
                }
                m.files.insert(p.clone(), File::Module(Module { value: "new".into(), ..Module::default() }));
                true
            }
            Op::Remove(p) => {
                m.exec.remove(p);
                m.files.remove(p).is_some()
            }
            Op::Rename(a, b) => {
                if m.files.contains_key(b) {
                    return false;
                }
                let Some(f) = m.files.remove(a) else { return false };
                m.files.insert(b.clone(), f);
                if m.exec.remove(a) {
                    m.exec.insert(b.clone());
                }
                true
            }
            Op::Chmod(p, x) => m.files.contains_key(p) && if *x { m.exec.insert(p.clone()) } else { m.exec.remove(p) },
            // Rewritten with the same bytes by the runner.
            Op::Touch(p) => m.files.contains_key(p),
            Op::WriteData(p, t) => {
                m.files.insert(p.clone(), File::Text(t.clone()));
                true
            }
            Op::Link(p, t) => {
                m.files.insert(p.clone(), File::Link(t.clone()));
                true
            }
            Op::SpecFlag(n, on) => {
                if *on {
                    support(m, n);
                    m.spec.flags.insert(n.clone())
                } else {
                    m.spec.flags.remove(n)
                }
            }
            Op::SpecHidden(h) => {
                m.spec.hidden = h.clone();
                true
            }
            Op::SpecNote(n) => {
                m.spec.note = *n;
                true
            }
            Op::Hook(p, h) => {
                if !m.files.contains_key(p) {
                    return false;
                }
                m.files.insert(p.clone(), File::Text(hook(h)));
                true
            }
            Op::Env(n, v) => {
                match v {
                    Some(v) => m.env.insert(n.clone(), v.clone()),
                    None => m.env.remove(n),
                };
                true
            }
            Op::Damage(_) | Op::Revert(_) | Op::Nothing => true,
        }
    }
}

fn add(list: &mut Vec<String>, item: &str) -> bool {
    if list.iter().any(|x| x == item) {
        return false;
    }
    list.push(item.to_string());
    true
}

fn remove(list: &mut Vec<String>, item: &str) -> bool {
    let before = list.len();
    list.retain(|x| x != item);
    list.len() != before
}

/// The files a spec feature needs, added when it is switched on (as a user would add them).
fn support(m: &mut Model, flag: &str) {
    let files: &[(&str, &str)] = match flag {
        "config_import" => &[("python/pj_spec_config.py", "")],
        "pathex_outside" => &[("outside/lib/pj_ext.py", "")],
        "hooks_inside" => &[("python/hooks/hook-pj_mod0.py", "hook")],
        "hooks_outside" => &[("outside/hooks/hook-pj_mod1.py", "hook")],
        "datas" => &[("python/data/a.txt", "a")],
        _ => &[],
    };
    for (path, text) in files {
        if !m.files.contains_key(*path) {
            let file = match *text {
                "" => File::Module(Module { value: "support".into(), ..Module::default() }),
                "hook" => File::Text(hook(&[])),
                t => File::Text(t.to_string()),
            };
            m.files.insert(path.to_string(), file);
        }
    }
}
