//! A process's resident memory and CPU time, read from `/proc`: the figures the load tests and
//! benchmarks report for node processes and for the load generator itself.

/// Linux reports CPU times in clock ticks of 1/100 s on every architecture it runs tests on
/// (`USER_HZ`, fixed by the kernel ABI).
const TICKS_PER_SECOND: f64 = 100.0;

#[derive(Debug, Clone, Copy, Default)]
pub struct Usage {
    /// Resident set size, KiB.
    pub rss_kib: u64,
    /// User plus system CPU time, seconds.
    pub cpu_seconds: f64,
}

impl Usage {
    /// The process `pid` now; zeros once it has exited.
    pub fn of(pid: u32) -> Self {
        Self::read(&format!("/proc/{pid}")).unwrap_or_default()
    }

    /// This process now.
    pub fn own() -> Self {
        Self::read("/proc/self").unwrap_or_default()
    }

    fn read(dir: &str) -> Option<Self> {
        let status = std::fs::read_to_string(format!("{dir}/status")).ok()?;
        let rss_kib = status
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))?
            .trim()
            .trim_end_matches("kB")
            .trim()
            .parse()
            .ok()?;
        let stat = std::fs::read_to_string(format!("{dir}/stat")).ok()?;
        // Fields after the command name, which is in parentheses and may hold spaces.
        let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
        let ticks = |i: usize| fields.get(i)?.parse::<f64>().ok();
        // utime and stime are fields 14 and 15 of stat(5); index 0 here is field 3.
        let cpu_seconds = (ticks(11)? + ticks(12)?) / TICKS_PER_SECOND;
        Some(Self {
            rss_kib,
            cpu_seconds,
        })
    }
}
