//! The project under test as data: modules (their imports, global names, a value, a syntax
//! error), other files, symlinks, modes, the spec's features and the environment. Edits change
//! this model; `render` turns it into the files a user would have on disk.

use std::collections::{BTreeMap, BTreeSet};

/// The entry script, relative to the app's root.
pub const ENTRY: &str = "python/pj_app.py";

/// A Python module, rendered as its imports, `VALUE`, extra globals and functions.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Module {
    pub imports: Vec<String>,
    pub globals: Vec<String>,
    pub funcs: Vec<String>,
    pub value: String,
    pub broken: bool,
}

#[derive(Clone, Debug, PartialEq)]
pub enum File {
    Module(Module),
    Text(String),
    /// A symlink to this target (relative to the link's folder).
    Link(String),
}

/// Spec features, each a switch (see `render_spec`).
pub const FLAGS: &[&str] = &[
    "pathex_outside", // outside/lib on pathex
    "hooks_inside",   // python/hooks on hookspath
    "hooks_outside",  // outside/hooks on hookspath
    "datas",          // ('data', 'data')
    "env_flavor",     // reads DIFF_FLAVOR: 'rich' adds a hidden import
    "config_import",  // imports pj_spec_config and reads its VALUE
    "reads_text",     // reads pj_mod0.py's text for hidden imports (class 1)
    "run_path",       // runpy.run_path('pj_mod1.py') for hidden imports (class 1)
    "exe_toc",        // hands pj_mod0.py to EXE as a data entry of its own (class 3)
    "tree",           // hands Tree('pj_pkg') to EXE (class 3)
    "pathex_dual",    // python/pj_pkg on pathex: its modules under two names (class 2)
];

/// The known classes (the issue's numbering) a flag belongs to; 0 for none.
pub fn flag_class(flag: &str) -> u8 {
    match flag {
        "reads_text" | "run_path" => 1,
        "pathex_dual" => 2,
        "exe_toc" | "tree" => 3,
        _ => 0,
    }
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct Spec {
    pub hidden: Vec<String>,
    pub flags: BTreeSet<String>,
    pub note: u32,
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct Model {
    /// Paths relative to the app's root (`python/...`, `outside/...`).
    pub files: BTreeMap<String, File>,
    pub exec: BTreeSet<String>,
    pub spec: Spec,
    pub env: BTreeMap<String, String>,
    /// The case's sidecar is built in extract-once mode (`launch = "extract-once"` in its
    /// manifest; class 8): the crate's onedir form, packed behind a launcher. Set for a whole case.
    pub extract_once: bool,
}

/// One rendered file: its bytes (or a symlink's target) and whether it is executable.
#[derive(Clone, Debug, PartialEq)]
pub enum Rendered {
    File(Vec<u8>, bool),
    Link(String),
}

impl Model {
    pub fn has(&self, flag: &str) -> bool {
        self.spec.flags.contains(flag)
    }

    /// Module paths (relative to the root), sorted.
    pub fn modules(&self) -> Vec<String> {
        self.files.iter().filter(|(_, f)| matches!(f, File::Module(_))).map(|(p, _)| p.clone()).collect()
    }

    pub fn module_mut(&mut self, path: &str) -> Option<&mut Module> {
        match self.files.get_mut(path) {
            Some(File::Module(m)) => Some(m),
            _ => None,
        }
    }

    /// The module name of a project `.py` file (`python/pj_pkg/pj_sub0.py` -> `pj_pkg.pj_sub0`),
    /// as imported from python-dir or the pathex folder outside it.
    pub fn module_name(path: &str) -> Option<String> {
        let rel = path.strip_prefix("python/").or_else(|| path.strip_prefix("outside/lib/"))?;
        let rel = rel.strip_suffix(".py")?;
        let rel = rel.strip_suffix("/__init__").unwrap_or(rel);
        if rel.starts_with("hooks/") || rel.contains("data/") {
            return None;
        }
        Some(rel.replace('/', "."))
    }

    /// Every file as it is written to disk.
    pub fn render(&self) -> BTreeMap<String, Rendered> {
        let mut out = BTreeMap::new();
        for (path, file) in &self.files {
            let r = match file {
                File::Module(m) => Rendered::File(render_module(m, path == ENTRY).into_bytes(), false),
                File::Text(t) => Rendered::File(t.clone().into_bytes(), false),
                File::Link(t) => Rendered::Link(t.clone()),
            };
            let r = match r {
                Rendered::File(b, _) => Rendered::File(b, self.exec.contains(path)),
                link => link,
            };
            out.insert(path.clone(), r);
        }
        out.insert("python/app.spec".into(), Rendered::File(self.render_spec().into_bytes(), false));
        out
    }

    fn render_spec(&self) -> String {
        let s = &self.spec;
        let mut t = format!(
            "# -*- mode: python ; coding: utf-8 -*-\n# note {}\nimport os\nhidden = {}\n",
            s.note,
            py_list(&s.hidden)
        );
        if self.has("config_import") {
            t += "import sys\nsys.path.insert(0, SPECPATH)\nimport pj_spec_config\n\
                  hidden += [n for n in ('colorsys', 'sched') if n in str(pj_spec_config.VALUE)]\n";
        }
        if self.has("env_flavor") {
            t += "if os.environ.get('DIFF_FLAVOR') == 'rich':\n    hidden.append('wave')\n";
        }
        if self.has("reads_text") {
            t += "with open(os.path.join(SPECPATH, 'pj_mod0.py')) as f:\n    text = f.read()\n\
                  hidden += [n for n in ('netrc', 'sched') if n in text]\n";
        }
        if self.has("run_path") {
            t += "import runpy\nns = runpy.run_path(os.path.join(SPECPATH, 'pj_mod1.py'))\n\
                  hidden += [n for n in ('tabnanny', 'colorsys') if n in str(ns.get('VALUE'))]\n";
        }
        let mut pathex = Vec::new();
        if self.has("pathex_outside") {
            pathex.push("os.path.join(SPECPATH, '..', 'outside', 'lib')");
        }
        if self.has("pathex_dual") {
            pathex.push("os.path.join(SPECPATH, 'pj_pkg')");
        }
        let mut hooks = Vec::new();
        if self.has("hooks_inside") {
            hooks.push("'hooks'");
        }
        if self.has("hooks_outside") {
            hooks.push("os.path.join(SPECPATH, '..', 'outside', 'hooks')");
        }
        let datas = if self.has("datas") { "[('data', 'data')]" } else { "[]" };
        t += &format!(
            "a = Analysis(['pj_app.py'], pathex=[{}], binaries=[], datas={datas}, hiddenimports=hidden, \
             hookspath=[{}], hooksconfig={{}}, runtime_hooks=[], excludes=[], noarchive=False, optimize=0)\n\
             pyz = PYZ(a.pure)\nextra = []\n",
            pathex.join(", "),
            hooks.join(", ")
        );
        if self.has("exe_toc") {
            t += "extra.append(('src/pj_mod0.py', os.path.join(SPECPATH, 'pj_mod0.py'), 'DATA'))\n";
        }
        if self.has("tree") {
            t += "extra += Tree(os.path.join(SPECPATH, 'pj_pkg'), prefix='tree', excludes=['__pycache__'])\n";
        }
        t += "exe = EXE(pyz, a.scripts, a.binaries, a.datas, extra, name='app', debug=False, \
              bootloader_ignore_signals=False, strip=False, upx=False, upx_exclude=[], runtime_tmpdir=None, \
              console=True)\n";
        t
    }
}

/// A Python list literal of strings.
pub fn py_list(items: &[String]) -> String {
    format!("[{}]", items.iter().map(|s| py_str(s)).collect::<Vec<_>>().join(", "))
}

/// A Python string literal (the values are printable; quotes and backslashes escaped).
pub fn py_str(s: &str) -> String {
    format!("'{}'", s.replace('\\', "\\\\").replace('\'', "\\'"))
}

fn render_module(m: &Module, entry: bool) -> String {
    let mut t = String::new();
    for i in &m.imports {
        t += i;
        t += "\n";
    }
    t += &format!("\nVALUE = {}\n", py_str(&m.value));
    for g in &m.globals {
        t += &format!("{g} = {}\n", py_str(g));
    }
    for f in &m.funcs {
        t += &format!("\n\ndef {f}():\n    return VALUE\n");
    }
    if m.broken {
        t += "\n\ndef broken(:\n    pass\n";
    }
    if entry {
        t += REPORT;
    }
    t
}

/// The entry script's report: which project modules and which optional standard modules were
/// bundled, each project module's `VALUE` (imported from the archive), and every data file with
/// its digest. Two binaries that print the same report behave the same for this harness.
const REPORT: &str = r#"

def _report():
    import hashlib
    import importlib
    import os
    import sys
    out = ['entry %r' % (VALUE,)]
    imp = sys.modules.get('pyimod02_importers')
    names = set(imp.pyz_archive.toc) if imp is not None and imp.pyz_archive is not None else set()
    project = sorted(n for n in names if n.split('.')[0].startswith('pj_'))
    out.append('bundled ' + ' '.join(project))
    out.append('stdlib ' + ' '.join(n for n in ('colorsys', 'wave', 'sched', 'netrc', 'tabnanny') if n in names))
    for n in project:
        try:
            m = importlib.import_module(n)
            out.append('%s=%r' % (n, getattr(m, 'VALUE', None)))
        except BaseException as e:
            out.append('%s!%s' % (n, type(e).__name__))
    base = getattr(sys, '_MEIPASS', os.path.dirname(os.path.abspath(__file__)))
    for top in ('data', 'tree', 'src'):
        for d, dirs, files in sorted(os.walk(os.path.join(base, top))):
            dirs.sort()
            for f in sorted(files):
                p = os.path.join(d, f)
                with open(p, 'rb') as fh:
                    out.append('%s %s' % (os.path.relpath(p, base), hashlib.sha1(fh.read()).hexdigest()[:10]))
    print('\n'.join(out))


if __name__ == '__main__':
    _report()
"#;
