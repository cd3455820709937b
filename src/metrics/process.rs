//! The process's own health for `/metrics`: the standard `process_*` series (start time,
//! resident memory, open and maximum file descriptors) read from Linux's `/proc/self` at scrape
//! time, and `onetimeshare_build_info`. Elsewhere, or when `/proc` is unreadable, a series is
//! left out rather than reported as zero (a zero RSS would be a lie a dashboard believes).

use std::time::{SystemTime, UNIX_EPOCH};

use super::text::Exposition;

/// What is known once, when the registry is made.
pub(super) struct ProcessInfo {
    started: f64,
}

impl ProcessInfo {
    pub(super) fn now() -> Self {
        let started = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0.0, |d| d.as_secs_f64());
        Self { started }
    }

    pub(super) fn render(&self, out: &mut Exposition) {
        out.family(
            "onetimeshare_build_info",
            "gauge",
            "Always 1; the labels say which build is running.",
        );
        out.sample(
            "onetimeshare_build_info",
            &[("version", env!("CARGO_PKG_VERSION"))],
            1,
        );
        out.family(
            "process_start_time_seconds",
            "gauge",
            "Start time of the process since the Unix epoch, in seconds.",
        );
        out.sample("process_start_time_seconds", &[], self.started.floor());
        if let Some(rss) = resident_bytes() {
            out.family(
                "process_resident_memory_bytes",
                "gauge",
                "Resident memory size in bytes.",
            );
            out.sample("process_resident_memory_bytes", &[], rss);
        }
        if let Ok(fds) = std::fs::read_dir("/proc/self/fd") {
            out.family(
                "process_open_fds",
                "gauge",
                "Number of open file descriptors.",
            );
            out.sample("process_open_fds", &[], fds.count());
        }
        if let Some(max) = max_fds() {
            out.family(
                "process_max_fds",
                "gauge",
                "Maximum number of open file descriptors (the soft limit).",
            );
            out.sample("process_max_fds", &[], max);
        }
    }
}

/// `VmRSS` of /proc/self/status (reported in kB).
fn resident_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    parse_vm_rss(&status)
}

fn parse_vm_rss(status: &str) -> Option<u64> {
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

/// The soft limit of "Max open files" in /proc/self/limits.
fn max_fds() -> Option<u64> {
    let limits = std::fs::read_to_string("/proc/self/limits").ok()?;
    parse_max_open_files(&limits)
}

fn parse_max_open_files(limits: &str) -> Option<u64> {
    let line = limits.lines().find(|l| l.starts_with("Max open files"))?;
    line["Max open files".len()..]
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn proc_files_are_read_as_the_kernel_writes_them() {
        let status = "Name:\tonetimeshare\nVmPeak:\t  9000 kB\nVmRSS:\t   1234 kB\n";
        assert_eq!(parse_vm_rss(status), Some(1234 * 1024));
        let limits = "Limit                     Soft Limit           Hard Limit           Units     \n\
                      Max open files            1024                 524288               files     \n";
        assert_eq!(parse_max_open_files(limits), Some(1024));
        assert_eq!(parse_vm_rss("Name: x\n"), None);
    }

    #[test]
    fn this_process_reports_real_numbers() {
        let mut out = Exposition::default();
        ProcessInfo::now().render(&mut out);
        let text = out.finish();
        let value = |name: &str| -> f64 {
            text.lines()
                .find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.parse().ok())
                .unwrap_or_else(|| panic!("{name} missing:\n{text}"))
        };
        assert!(value("process_resident_memory_bytes") > 1_000_000.0);
        assert!(value("process_open_fds") >= 3.0);
        assert!(value("process_max_fds") >= value("process_open_fds"));
        assert!(value("process_start_time_seconds") > 1.7e9);
        assert!(text.contains("onetimeshare_build_info{version=\""));
    }
}
