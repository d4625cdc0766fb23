//! Wall and CPU time of this process, and best-of-N timing.

use std::time::{Duration, Instant};

/// CPU time of this process (all threads: user + system), from `/proc/self/stat` (Linux; zero
/// elsewhere).
pub fn cpu_time() -> Duration {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // the fields after the parenthesised command name; utime and stime are fields 14 and 15
    let rest = stat.rsplit(')').next().unwrap_or("");
    let f: Vec<&str> = rest.split_whitespace().collect();
    let field = |i: usize| f.get(i).and_then(|x| x.parse::<u64>().ok()).unwrap_or(0);
    let ticks = field(11) + field(12); // rest[0] is field 3 (state)
    Duration::from_millis(ticks * 10) // CLK_TCK = 100 on Linux
}

/// One timed call: wall and CPU time.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Timing {
    pub wall: Duration,
    pub cpu: Duration,
}

/// The best (shortest wall time) of `runs` calls of `f`, and the last call's result, which is
/// dropped outside the timing by the caller.
pub fn best_of<T>(runs: usize, mut f: impl FnMut() -> T) -> (Timing, Vec<Timing>, Option<T>) {
    let mut all = Vec::with_capacity(runs);
    let mut last = None;
    for _ in 0..runs.max(1) {
        drop(last.take());
        let (c, t) = (cpu_time(), Instant::now());
        let out = f();
        let wall = t.elapsed();
        all.push(Timing {
            wall,
            cpu: cpu_time().saturating_sub(c),
        });
        last = Some(out);
    }
    let best = all
        .iter()
        .copied()
        .min_by(|a, b| a.wall.cmp(&b.wall))
        .unwrap_or(Timing {
            wall: Duration::ZERO,
            cpu: Duration::ZERO,
        });
    (best, all, last)
}
