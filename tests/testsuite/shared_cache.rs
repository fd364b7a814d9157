//! End to end: a cache shared between machines, against real servers on 127.0.0.1 (nginx serving
//! the Bazel HTTP cache layout, moto serving the S3 API), started by `.ci/cache-servers`.
//!
//! A "machine" is a copy of the fixture at its own path with its own crate folders (environment,
//! store, PyInstaller work folders: `PYINSTALLER_BUILD_CACHE_DIR`) and its own `OUT_DIR`; cargo's
//! compiled crates are shared to keep the suite short.

use crate::support;
use crate::support::e2e::*;
use std::fs;
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

/// Every variable the shared tier reads: each build sets exactly the ones it names.
const CACHE_VARS: &[&str] = &[
    "PYINSTALLER_BUILD_CACHE_URL",
    "PYINSTALLER_BUILD_CACHE_MODE",
    "PYINSTALLER_BUILD_CACHE_SIGNING_KEY",
    "PYINSTALLER_BUILD_CACHE_MAX_MB",
    "PYINSTALLER_BUILD_CACHE_TOKEN",
    "PYINSTALLER_BUILD_CACHE_USERNAME",
    "PYINSTALLER_BUILD_CACHE_PASSWORD",
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_REGION",
    "AWS_DEFAULT_REGION",
    "AWS_ENDPOINT_URL",
    "AWS_ENDPOINT_URL_S3",
];

#[allow(clippy::disallowed_methods)] // test settings, not build inputs
fn server(var: &str) -> Option<String> {
    std::env::var(var).ok().filter(|v| !v.is_empty())
}

fn servers_missing(what: &str) -> bool {
    support::may_skip(what, "start the test servers: `eval \"$(.ci/cache-servers start)\"`")
}

/// Unique per test run: what one run stores never answers another's lookups.
fn run_id(name: &str) -> String {
    let nanos = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_nanos();
    format!("{name}-{}-{nanos}", std::process::id())
}

struct Machine {
    app: App,
}

impl Machine {
    /// A checkout of the fixture whose sources are those of every other machine given `sources`.
    fn new(sources: &str, extra: &str) -> Machine {
        let app = App::from("tests/fixtures/shared-cache", extra);
        app.set_id(sources);
        Machine { app }
    }

    fn cache_dir(&self) -> PathBuf {
        self.app.root.parent().unwrap().join("target/pyinstaller-build")
    }

    fn build(&self, vars: &[(&str, &str)]) -> Output {
        let cache_dir = self.cache_dir().display().to_string();
        let mut env: Vec<(&str, &str)> = CACHE_VARS.iter().map(|v| (*v, "")).collect();
        env.retain(|(k, _)| !vars.iter().any(|(v, _)| v == k));
        env.extend(vars.iter().copied());
        env.push(("PYINSTALLER_BUILD_CACHE_DIR", &cache_dir));
        let out = self.app.cargo(&[], &env);
        assert!(out.ok, "cargo build failed:\n{}", out.stderr);
        out
    }

    fn binary(&self) -> Vec<u8> {
        self.binary_of("hello")
    }

    fn binary_of(&self, name: &str) -> Vec<u8> {
        fs::read(self.app.binary(name)).unwrap()
    }

    /// Whether PyInstaller ever ran on this machine.
    fn ran_pyinstaller(&self) -> bool {
        let project = fs::read_dir(self.cache_dir()).unwrap().flatten().find(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            name.starts_with("python-")
        });
        project.is_some_and(|p| p.path().join("hello/build.log").exists())
    }
}

fn warned<'a>(out: &'a Output, what: &str) -> Vec<&'a str> {
    out.warnings().into_iter().filter(|w| w.contains(what)).collect()
}

/// The nginx cache: its URL, the folder it stores in, and the credentials that may write.
struct HttpCache {
    http: String,
    store: String,
    user: String,
    password: String,
}

impl HttpCache {
    /// The store's entries and content under `id`.
    fn folders(&self, id: &str) -> (PathBuf, PathBuf) {
        let root = Path::new(&self.store).join(id);
        (root.join("ac"), root.join("cas"))
    }

    /// What a build that may write to `url` sets.
    fn writer<'a>(&'a self, url: &'a str) -> [(&'a str, &'a str); 3] {
        [
            ("PYINSTALLER_BUILD_CACHE_URL", url),
            ("PYINSTALLER_BUILD_CACHE_USERNAME", &self.user),
            ("PYINSTALLER_BUILD_CACHE_PASSWORD", &self.password),
        ]
    }
}

/// What a build that only reads `url` sets.
fn reader(url: &str) -> [(&str, &str); 2] {
    [("PYINSTALLER_BUILD_CACHE_URL", url), ("PYINSTALLER_BUILD_CACHE_MODE", "read-only")]
}

/// `None` (after saying why) when the servers are not running and the test may skip.
fn http_cache() -> Option<HttpCache> {
    let (Some(http), Some(store), Some(auth)) = (
        server("PYINSTALLER_BUILD_TEST_HTTP_CACHE"),
        server("PYINSTALLER_BUILD_TEST_HTTP_CACHE_DIR"),
        server("PYINSTALLER_BUILD_TEST_HTTP_CACHE_AUTH"),
    ) else {
        if servers_missing("an HTTP cache (nginx)") {
            return None;
        }
        unreachable!()
    };
    let (user, password) = auth.split_once(':').unwrap();
    Some(HttpCache { http, store, user: user.into(), password: password.into() })
}

/// The files of a store folder (`ac/` or `cas/`), if any.
fn files(dir: &Path) -> Vec<PathBuf> {
    fs::read_dir(dir).map(|rd| rd.flatten().map(|e| e.path()).collect()).unwrap_or_default()
}

#[test]
fn another_machine_gets_the_binary_over_http_and_every_failure_is_a_warning_and_a_local_build() {
    let Some(cache) = http_cache() else { return };
    let (http, store, user, password) = (&cache.http, &cache.store, cache.user.as_str(), cache.password.as_str());
    let id = run_id("http");
    let url = format!("{http}/{id}");
    let writer = [&cache.writer(&url)[..], &[("PYINSTALLER_BUILD_CACHE_SIGNING_KEY", "key one")]].concat();

    // Machine A builds and uploads: content first, then the entry.
    let a = Machine::new(&id, "");
    let built = a.build(&writer);
    assert_eq!(warned(&built, "built hello").len(), 1, "{}", built.stderr);
    assert_eq!(a.app.run("hello"), "hello from the shared cache fixture");
    let (ac, cas) = cache.folders(&id);
    assert_eq!((files(&ac).len(), files(&cas).len()), (1, 1), "one entry and its content were uploaded");
    assert_eq!(fs::read(&files(&cas)[0]).unwrap(), a.binary());

    // Machine B: another checkout path, its own crate folders and environment, read-only. No
    // PyInstaller; the very bytes; it runs.
    let reader = [
        ("PYINSTALLER_BUILD_CACHE_URL", url.as_str()),
        ("PYINSTALLER_BUILD_CACHE_MODE", "read-only"),
        ("PYINSTALLER_BUILD_CACHE_SIGNING_KEY", "key one"),
    ];
    let b = Machine::new(&id, "binary-cache-mb = 0");
    assert_ne!(a.app.root, b.app.root);
    let got = b.build(&reader);
    let downloaded = warned(&got, "downloaded hello from the shared cache");
    assert_eq!(downloaded.len(), 1, "{}", got.stderr);
    assert!(warned(&got, "built hello").is_empty() && !b.ran_pyinstaller(), "{}", got.stderr);
    assert_eq!(b.binary(), a.binary(), "byte-identical");
    assert_eq!(b.app.run("hello"), "hello from the shared cache fixture");
    // Cargo gives every checkout of the fixture the same OUT_DIR (the S3 test's builds land in
    // between at random): A building now must not make B forget what it installed.
    let between = a.build(&writer);
    assert!(between.warnings().is_empty(), "{}", between.stderr);
    // The environment was created by B's first build: cargo reruns the script for its fresh
    // RECORD files (and for the variables A set), which finds everything up to date and is quiet.
    let again = b.build(&reader);
    assert!(again.warnings().is_empty(), "{}", again.stderr);
    assert!(!b.ran_pyinstaller() && b.binary() == a.binary());

    // Each failure: one warning naming the cause, then a local build (B's local store is off,
    // so each one really builds), which gives A's very bytes: the binary holds no checkout path.
    let good = a.binary();
    let (entry_file, blob_file) = (files(&ac)[0].clone(), files(&cas)[0].clone());
    let entry = fs::read(&entry_file).unwrap();
    let failing = |vars: &[(&str, &str)], cause: &str| {
        fs::write(b.app.binary("hello"), b"not the binary").unwrap();
        let out = b.build(vars);
        let off = warned(&out, "is off for the rest of this build");
        assert!(off.len() == 1 && off[0].contains(cause), "expected one warning naming `{cause}`:\n{}", out.stderr);
        let line = warned(&out, "built hello");
        // A failed lookup or download is the line's reason; a failed upload comes after a miss.
        let off = line.len() == 1 && line[0].contains("not from the shared cache: the shared cache is off: ");
        assert!(off && line[0].contains(cause) || line[0].contains("no entry for key"), "{line:?}");
        assert!(b.binary() == good, "{cause}: the local build is A's binary, nothing else was installed");
        assert_eq!(b.app.run("hello"), "hello from the shared cache fixture");
    };
    let closed = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let closed_url = format!("http://127.0.0.1:{closed}/cache");
    failing(&[("PYINSTALLER_BUILD_CACHE_URL", &closed_url)], &format!("127.0.0.1:{closed}"));

    let mut corrupted = good.clone();
    corrupted[good.len() / 2] ^= 0xff;
    fs::write(&blob_file, &corrupted).unwrap();
    failing(&reader, "is corrupted");
    fs::write(&blob_file, &good[..good.len() / 2]).unwrap();
    failing(&reader, "is truncated");
    fs::write(&blob_file, &good).unwrap();

    failing(
        &[("PYINSTALLER_BUILD_CACHE_URL", &url), ("PYINSTALLER_BUILD_CACHE_SIGNING_KEY", "key two")],
        "signed with another key",
    );
    let mut unsigned: serde_json::Value = serde_json::from_slice(&entry).unwrap();
    unsigned.as_object_mut().unwrap().remove("signature");
    fs::write(&entry_file, serde_json::to_vec(&unsigned).unwrap()).unwrap();
    failing(&reader, "is unsigned");
    fs::write(&entry_file, &entry).unwrap();
    failing(
        &[
            ("PYINSTALLER_BUILD_CACHE_URL", &url),
            ("PYINSTALLER_BUILD_CACHE_MODE", "read-only"),
            ("PYINSTALLER_BUILD_CACHE_MAX_MB", "1"),
        ],
        "over PYINSTALLER_BUILD_CACHE_MAX_MB",
    );

    // Restored: a hit again (nothing above poisoned the store or B's folders).
    fs::write(b.app.binary("hello"), b"not the binary").unwrap();
    let hit = b.build(&reader);
    assert_eq!(warned(&hit, "downloaded hello").len(), 1, "{}", hit.stderr);
    assert!(b.binary() == good);

    // An upload without credentials: denied (401), a warning; the binary built here is installed.
    let denied_url = format!("{http}/{id}-denied");
    failing(&[("PYINSTALLER_BUILD_CACHE_URL", &denied_url)], "HTTP 401 (upload denied");
    assert!(!Path::new(&store).join(format!("{id}-denied")).exists());

    // Read-only mode uploads nothing, and a miss says why on the line of the sidecar it built.
    let ro_url = format!("{http}/{id}-read-only");
    fs::write(b.app.binary("hello"), b"not the binary").unwrap();
    let out = b.build(&[
        ("PYINSTALLER_BUILD_CACHE_URL", &ro_url),
        ("PYINSTALLER_BUILD_CACHE_MODE", "read-only"),
        ("PYINSTALLER_BUILD_CACHE_USERNAME", user),
        ("PYINSTALLER_BUILD_CACHE_PASSWORD", password),
    ]);
    let line = warned(&out, "built hello");
    assert!(line.len() == 1 && line[0].contains("; not from the shared cache: no entry for key "), "{}", out.stderr);
    assert!(
        warned(&out, "pyinstaller-build: shared cache ")[0].ends_with(": 0 hits, 1 miss (hello)"),
        "{}",
        out.stderr
    );
    assert!(b.binary() == good);
    assert!(!Path::new(&store).join(format!("{id}-read-only")).exists(), "read-only uploaded nothing");
}

#[test]
fn another_machine_gets_the_binary_from_s3() {
    let (Some(endpoint), Some(bucket)) =
        (server("PYINSTALLER_BUILD_TEST_S3_ENDPOINT"), server("PYINSTALLER_BUILD_TEST_S3_BUCKET"))
    else {
        if servers_missing("an S3 API server (moto)") {
            return;
        }
        unreachable!()
    };
    let id = run_id("s3");
    let url = format!("s3://{bucket}/{id}");
    let vars = [
        ("PYINSTALLER_BUILD_CACHE_URL", url.as_str()),
        ("AWS_ENDPOINT_URL", endpoint.as_str()),
        ("AWS_REGION", "us-east-1"),
        ("AWS_ACCESS_KEY_ID", "testing"),
        ("AWS_SECRET_ACCESS_KEY", "testing"),
    ];
    let a = Machine::new(&id, "");
    let built = a.build(&vars);
    assert_eq!(warned(&built, "built hello").len(), 1, "{}", built.stderr);
    assert!(warned(&built, "is off for the rest").is_empty(), "the upload went through\n{}", built.stderr);

    let b = Machine::new(&id, "");
    let got = b.build(&vars);
    assert_eq!(warned(&got, "downloaded hello from the shared cache").len(), 1, "{}", got.stderr);
    assert!(!b.ran_pyinstaller());
    assert_eq!(b.binary(), a.binary(), "byte-identical");
    assert_eq!(b.app.run("hello"), "hello from the shared cache fixture");
}

/// A second sidecar that packages pycodestyle's metadata: its `RECORD` lists the console script
/// with the hash of its first lines, which name the environment's path unless the environment is
/// relocatable. Its spec reads a variable, which the entry then checks.
const META_SPEC: &str = "import os\nfrom PyInstaller.utils.hooks import copy_metadata\n\
flavor = os.environ.get('META_FLAVOR', '')\n\
a = Analysis(['meta.py'], datas=copy_metadata('pycodestyle'))\n\
pyz = PYZ(a.pure)\n\
exe = EXE(pyz, a.scripts, a.binaries, a.datas, [], name='meta', upx=False, console=True)\n";
const META_PY: &str = "import sys\nfrom importlib.metadata import version\n\
print('meta', version('pycodestyle'))\n";

/// What the last build's `report.json` (in the fixture's `OUT_DIR`, which every checkout
/// shares; other areas' fixtures build beside it) says the shared cache gave each sidecar it was
/// asked for: (name, result, reason).
fn shared_results() -> Vec<(String, String, String)> {
    let build = Path::new(env!("CARGO_TARGET_TMPDIR")).join("e2e-target/debug/build");
    let ours = fs::read_dir(build)
        .unwrap()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().starts_with("e2e-shared-cache-"));
    let reports = ours.map(|e| e.path().join("out/pyinstaller-build/report.json"));
    let newest = reports.filter(|r| r.is_file()).max_by_key(|r| fs::metadata(r).unwrap().modified().unwrap());
    let report: serde_json::Value = serde_json::from_slice(&fs::read(newest.unwrap()).unwrap()).unwrap();
    let text = |v: &serde_json::Value| v.as_str().unwrap_or_default().to_string();
    let specs = report["specs"].as_array().unwrap();
    let asked = specs.iter().filter(|s| !s["shared_cache"].is_null());
    asked.map(|s| (text(&s["name"]), text(&s["shared_cache"]["result"]), text(&s["shared_cache"]["reason"]))).collect()
}

#[test]
fn a_clone_at_another_path_gets_every_binary_and_each_miss_says_why() {
    let Some(cache) = http_cache() else { return };
    let id = run_id("pinned");
    let url = format!("{}/{id}", cache.http);
    let (writer, reader) = (cache.writer(&url), reader(&url));
    let machine = || {
        let m = Machine::new(&id, "");
        let hashed = m.app.root.join("python/requirements-hashed.txt");
        fs::copy(&hashed, m.app.root.join("python/requirements.txt")).unwrap();
        m.app.write("meta.spec", META_SPEC);
        m.app.write("meta.py", META_PY);
        m
    };

    // A builds both, and stores each under two keys: one from its environment's contents, one
    // from what determined the environment (for readers that have not created theirs).
    let a = machine();
    let built = a.build(&writer);
    assert_eq!(warned(&built, "created the Python environment").len(), 1, "{}", built.stderr);
    assert_eq!(warned(&built, "built ").len(), 2, "{}", built.stderr);
    let closing = warned(&built, "pyinstaller-build: shared cache ");
    assert!(closing.len() == 1 && closing[0].ends_with(": 0 hits, 2 misses (hello, meta)"), "{}", built.stderr);
    assert!(shared_results().iter().all(|(_, r, why)| r == "miss" && why.starts_with("no entry for key ")));
    let (ac, cas) = cache.folders(&id);
    assert_eq!((files(&ac).len(), files(&cas).len()), (4, 2), "two entries per binary, each binary once");
    let (hello, meta) = (a.binary(), a.binary_of("meta"));
    assert_eq!(a.app.run("meta"), "meta 2.14.0");

    // B, a clone at another path: meta's entry holds A's environment's RECORD, whose console
    // script row is the same in B's (both relocatable), so both are downloaded, with no
    // environment created and no PyInstaller run.
    let b = machine();
    assert_ne!(a.app.root, b.app.root);
    let got = b.build(&reader);
    let downloaded = warned(&got, "from the shared cache");
    assert_eq!(downloaded.len(), 2, "{}", got.stderr);
    assert!(downloaded.iter().all(|w| w.contains("no Python environment created")), "{}", got.stderr);
    assert!(warned(&got, "pyinstaller-build: shared cache ")[0].ends_with(": 2 hits, 0 misses"), "{}", got.stderr);
    assert!(!b.cache_dir().join("envs").exists() && !b.ran_pyinstaller());
    assert!(b.binary() == hello && b.binary_of("meta") == meta, "byte-identical");
    assert_eq!(b.app.run("meta"), "meta 2.14.0");
    let again = b.build(&reader);
    assert!(again.warnings().is_empty(), "nothing changed, nothing said:\n{}", again.stderr);
    assert!(!b.cache_dir().join("envs").exists());

    // What PyInstaller builds on B, in B's own environment, is those very bytes.
    let forced = b.build(&[reader.as_slice(), &[("PYINSTALLER_BUILD_FORCE", "1")]].concat());
    assert_eq!(warned(&forced, "created the Python environment").len(), 1, "{}", forced.stderr);
    assert_eq!(warned(&forced, "built ").len(), 2, "{}", forced.stderr);
    let off = warned(&forced, "not from the shared cache: the shared cache is off: PYINSTALLER_BUILD_FORCE is set");
    assert_eq!(off.len(), 2, "{}", forced.stderr);
    assert!(warned(&forced, "pyinstaller-build: shared cache ").is_empty(), "not asked: no count\n{}", forced.stderr);
    assert!(b.binary() == hello && b.binary_of("meta") == meta, "a forced build at another path gives A's bytes");

    // An entry whose check fails says which: meta's spec read META_FLAVOR, unset on A.
    let flavored = b.build(&[reader.as_slice(), &[("META_FLAVOR", "dark")]].concat());
    let line = warned(&flavored, "built meta");
    let why = "not from the shared cache: the entry for key ";
    assert!(line.len() == 1 && line[0].contains(why), "{}", flavored.stderr);
    assert!(line[0].contains("the variable META_FLAVOR is set here, and did not where it was built"), "{}", line[0]);
    let results = shared_results();
    assert!(results.len() == 1 && results[0].0 == "meta" && results[0].1 == "miss", "{results:?}");

    // A fresh checkout at A's paths whose installer names another index: that index may offer
    // other wheels of the pinned ones, so the entries made without an environment do not apply;
    // it creates its environment, whose contents then find A's entries.
    let fresh_checkout = || {
        fs::remove_dir_all(a.cache_dir()).unwrap();
        fs::remove_dir_all(a.app.root.join("binaries")).unwrap();
    };
    fresh_checkout();
    let mirror = [reader.as_slice(), &[("PIP_EXTRA_INDEX_URL", "https://pypi.org/simple")]].concat();
    let other_index = a.build(&mirror);
    assert_eq!(warned(&other_index, "created the Python environment").len(), 1, "{}", other_index.stderr);
    assert_eq!(warned(&other_index, "from the shared cache").len(), 2, "{}", other_index.stderr);
    assert!(!other_index.stderr.contains("no Python environment created"), "{}", other_index.stderr);
    // Nothing changed: nothing happens, and nothing is said.
    fs::write(a.app.root.join("python/greeting.py"), fs::read(a.app.root.join("python/greeting.py")).unwrap()).unwrap();
    let again = a.build(&mirror);
    assert!(again.warnings().is_empty(), "{}", again.stderr);
}

#[test]
fn a_sidecar_without_a_spec_file_is_shared_too_and_is_what_pyinstaller_builds_there() {
    let Some(cache) = http_cache() else { return };
    let id = run_id("generated");
    let url = format!("{}/{id}", cache.http);
    let (writer, reader) = (cache.writer(&url), reader(&url));
    let sidecar = "[package.metadata.pyinstaller-build.sidecars.api]\nscript = \"hello.py\"\n\
                   options = [\"--add-data\", \"greeting.py:assets\"]\n";
    let a = Machine::new(&id, sidecar);
    let built = a.build(&writer);
    assert_eq!(warned(&built, "built api").len(), 1, "{}", built.stderr);

    // B, at another path: its spec is written there (absolute paths differ, the spec's own
    // relative ones do not), and the binary is A's.
    let b = Machine::new(&id, sidecar);
    let got = b.build(&reader);
    assert_eq!(warned(&got, "downloaded api from the shared cache").len(), 1, "{}", got.stderr);
    assert_eq!(b.binary_of("api"), a.binary_of("api"));
    assert_eq!(b.app.run("api"), "hello from the shared cache fixture");

    // What PyInstaller builds on B from scratch is those very bytes.
    let forced = b.build(&[("PYINSTALLER_BUILD_FORCE", "1")]);
    assert_eq!(warned(&forced, "built api").len(), 1, "{}", forced.stderr);
    assert_eq!(b.binary_of("api"), a.binary_of("api"), "a forced build at another path gives A's bytes");
}
