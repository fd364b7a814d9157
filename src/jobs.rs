//! Running spec builds at once without oversubscribing the machine.
//!
//! Cargo runs build scripts beside rustc jobs and hands each script one implicit jobserver token.
//! As in cc-rs, the first concurrent build uses that token and every further one acquires a token
//! from cargo's jobserver first (falling back to `NUM_JOBS` when there is none), so a sidecar
//! build never adds more processes than `cargo -j` allows.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, OnceLock};

/// Cargo's jobserver, if it passed one. Call early, before the build opens files.
pub(crate) fn jobserver() -> Option<&'static jobserver::Client> {
    static CLIENT: OnceLock<Option<jobserver::Client>> = OnceLock::new();
    // SAFETY: called once per process, first thing in `try_compile`. The descriptors cargo names in
    // CARGO_MAKEFLAGS are inherited and nothing here closes them; with `check_pipe` a descriptor
    // that is no longer a pipe is refused rather than adopted.
    CLIENT.get_or_init(|| unsafe { jobserver::Client::from_env_ext(true).client.ok() }).as_ref()
}

/// Runs `f` on every item, at most `limit` at once, returning results in input order.
pub(crate) fn run_all<T: Send, R: Send>(items: Vec<T>, limit: usize, f: impl Fn(T) -> R + Sync) -> Vec<R> {
    let threads = limit.clamp(1, items.len().max(1));
    if threads == 1 {
        return items.into_iter().map(f).collect();
    }
    let client = jobserver();
    let implicit_free = AtomicBool::new(true);
    let run = |item: T| {
        // The implicit token is ours for free; any other concurrent job waits for a real one.
        let implicit = implicit_free.swap(false, Ordering::AcqRel);
        let token = if implicit { None } else { client.and_then(|c| c.acquire().ok()) };
        let result = f(item);
        drop(token);
        if implicit {
            implicit_free.store(true, Ordering::Release);
        }
        result
    };
    // `threads` workers take the next item until none is left; each result goes to its item's slot.
    let n = items.len();
    let queue = Mutex::new(items.into_iter().enumerate());
    let results: Mutex<Vec<Option<R>>> = Mutex::new((0..n).map(|_| None).collect());
    std::thread::scope(|scope| {
        for _ in 0..threads {
            scope.spawn(|| loop {
                let next = queue.lock().unwrap_or_else(|e| e.into_inner()).next();
                let Some((i, item)) = next else { break };
                let result = run(item);
                results.lock().unwrap_or_else(|e| e.into_inner())[i] = Some(result);
            });
        }
    });
    let results = results.into_inner().unwrap_or_else(|e| e.into_inner());
    results.into_iter().map(|r| r.expect("every item ran")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicUsize;
    use std::time::Duration;

    #[test]
    fn runs_at_most_limit_at_once_and_keeps_order() {
        let running = AtomicUsize::new(0);
        let peak = AtomicUsize::new(0);
        let out = run_all((0..8).collect(), 3, |i| {
            let now = running.fetch_add(1, Ordering::SeqCst) + 1;
            peak.fetch_max(now, Ordering::SeqCst);
            std::thread::sleep(Duration::from_millis(30));
            running.fetch_sub(1, Ordering::SeqCst);
            i * 2
        });
        assert_eq!(out, (0..8).map(|i| i * 2).collect::<Vec<_>>());
        let peak = peak.load(Ordering::SeqCst);
        assert!(peak > 1 && peak <= 3, "peak {peak}");
    }
}
