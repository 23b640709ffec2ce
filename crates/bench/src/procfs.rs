//! What the kernel says about a service process (Linux `/proc`): its resident memory now
//! and at its peak, and how many connections it holds to its SQLite database.

use std::path::Path;

/// `VmRSS` (now) and `VmHWM` (the peak since start or since [`reset_peak`]) of `pid`, in KiB.
pub fn memory_kib(pid: u32) -> Option<(u64, u64)> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let field = |name: &str| {
        status
            .lines()
            .find_map(|line| line.strip_prefix(name))
            .and_then(|rest| rest.split_whitespace().next())
            .and_then(|kib| kib.parse::<u64>().ok())
    };
    Some((field("VmRSS:")?, field("VmHWM:")?))
}

/// Resets `pid`'s peak resident size to what it holds now (`echo 5 > clear_refs`), so the
/// next [`memory_kib`] peak is the peak of what follows. False when the kernel refused.
pub fn reset_peak(pid: u32) -> bool {
    std::fs::write(format!("/proc/{pid}/clear_refs"), "5").is_ok()
}

/// How many open files of `pid` are `database` itself (one per SQLite connection; its `-wal`
/// and `-shm` files are not counted).
pub fn open_handles_to(pid: u32, database: &Path) -> Option<u64> {
    let wanted = std::fs::canonicalize(database).ok()?;
    let fds = std::fs::read_dir(format!("/proc/{pid}/fd")).ok()?;
    let mut count = 0;
    for fd in fds.flatten() {
        if std::fs::read_link(fd.path()).is_ok_and(|target| target == wanted) {
            count += 1;
        }
    }
    Some(count)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn this_process_has_a_resident_size_and_a_peak_at_least_as_large() {
        let (rss, peak) = memory_kib(std::process::id()).unwrap();
        assert!(rss > 0);
        assert!(peak >= rss);
    }

    #[test]
    fn open_handles_count_the_file_itself_only() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("x.db");
        let other = dir.path().join("x.db-wal");
        std::fs::write(&file, b"").unwrap();
        std::fs::write(&other, b"").unwrap();
        let me = std::process::id();
        assert_eq!(open_handles_to(me, &file), Some(0));
        let _a = std::fs::File::open(&file);
        let _b = std::fs::File::open(&file);
        let _c = std::fs::File::open(&other);
        assert_eq!(open_handles_to(me, &file), Some(2));
    }
}
