//! Reading audit logs back: the live file and its rotated predecessors,
//! oldest first, with time windows.

use std::io::BufRead;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use super::{rotated_path, Record};

/// A time window, both ends optional (`since` inclusive, `until`
/// exclusive).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Window {
    /// Earliest time included.
    pub since: Option<SystemTime>,
    /// First time excluded.
    pub until: Option<SystemTime>,
}

impl Window {
    /// True when `t` lies in the window.
    pub fn contains(&self, t: SystemTime) -> bool {
        self.since.is_none_or(|s| t >= s) && self.until.is_none_or(|u| t < u)
    }

    /// Parses `A..B` (either side may be empty) as a window.
    ///
    /// # Errors
    /// Text without `..`, or an end that [`parse_time`] rejects.
    pub fn parse_range(text: &str, now: SystemTime) -> Result<Window, String> {
        let (a, b) = text
            .split_once("..")
            .ok_or_else(|| format!("{text:?} is not a range; write START..END, e.g. 2026-11-01..2026-11-08 (either end may be left out)"))?;
        let end = |s: &str| -> Result<Option<SystemTime>, String> {
            if s.trim().is_empty() {
                Ok(None)
            } else {
                parse_time(s, now).map(Some)
            }
        };
        Ok(Window {
            since: end(a)?,
            until: end(b)?,
        })
    }
}

/// Parses a point in time: RFC 3339 (`2026-11-01T12:00:00Z`), a UTC date
/// (`2026-11-01`, its midnight), or an age before `now` (`7d`, `24h`,
/// `90min`; humantime's units).
///
/// # Errors
/// Text that is none of these, with the accepted forms.
pub fn parse_time(text: &str, now: SystemTime) -> Result<SystemTime, String> {
    let t = text.trim();
    if let Ok(x) = humantime::parse_rfc3339_weak(t) {
        return Ok(x);
    }
    if t.len() == 10 {
        if let Ok(x) = humantime::parse_rfc3339_weak(&format!("{t}T00:00:00")) {
            return Ok(x);
        }
    }
    if let Ok(d) = humantime::parse_duration(t) {
        return Ok(now.checked_sub(d).unwrap_or(SystemTime::UNIX_EPOCH));
    }
    Err(format!(
        "{text:?} is not a time: give RFC 3339 (2026-11-01T12:00:00Z), a date (2026-11-01) or an age (7d, 24h)"
    ))
}

/// The time of a record, if it has a readable one.
pub fn record_time(r: &Record) -> Option<SystemTime> {
    humantime::parse_rfc3339_weak(&r.time).ok()
}

/// The files of a log, oldest first: `LOG.N` … `LOG.1`, `LOG`; only
/// those that exist.
pub fn files(path: &Path) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = (1..=1000)
        .map(|n| rotated_path(path, n))
        .take_while(|p| p.exists())
        .collect();
    out.reverse();
    if path.exists() || out.is_empty() {
        out.push(path.to_path_buf());
    }
    out
}

/// Records read from a log.
#[derive(Debug, Default)]
pub struct Loaded {
    /// Records in the window, in file order.
    pub records: Vec<Record>,
    /// Lines that were not audit records (torn or foreign), with where.
    pub bad_lines: Vec<String>,
    /// Files read.
    pub files: Vec<PathBuf>,
}

/// Most bad lines listed by name (the rest are only counted).
const LISTED_BAD_LINES: usize = 20;

/// Reads every record of the log at `path` (with its rotated files)
/// whose time lies in any of `windows` (all records when `windows` is
/// empty).
///
/// # Errors
/// A file that exists but cannot be read; a log that does not exist at
/// all, with the setting that names it.
pub fn load(path: &Path, windows: &[Window]) -> Result<Loaded, String> {
    let files = files(path);
    if files.iter().all(|f| !f.exists()) {
        return Err(format!(
            "no audit log at {}: pass --log PATH or set {}",
            path.display(),
            super::ENV_VAR
        ));
    }
    let mut out = Loaded {
        files: files.clone(),
        ..Loaded::default()
    };
    let mut bad = 0usize;
    for f in &files {
        let file = std::fs::File::open(f)
            .map_err(|e| format!("cannot read audit log {}: {e}", f.display()))?;
        let reader = std::io::BufReader::with_capacity(1 << 20, file);
        for (n, line) in reader.split(b'\n').enumerate() {
            let line = line.map_err(|e| format!("cannot read audit log {}: {e}", f.display()))?;
            if line.iter().all(u8::is_ascii_whitespace) {
                continue;
            }
            match serde_json::from_slice::<Record>(&line) {
                Ok(r) if !r.time.is_empty() => {
                    if windows.is_empty()
                        || record_time(&r).is_some_and(|t| windows.iter().any(|w| w.contains(t)))
                    {
                        out.records.push(r);
                    }
                }
                Ok(_) | Err(_) => {
                    bad += 1;
                    if out.bad_lines.len() < LISTED_BAD_LINES {
                        out.bad_lines.push(format!("{}:{}", f.display(), n + 1));
                    }
                }
            }
        }
    }
    if bad > out.bad_lines.len() {
        out.bad_lines
            .push(format!("… and {} more", bad - out.bad_lines.len()));
    }
    Ok(out)
}

/// `now` for relative times, overridable for reproducible reports and
/// tests through `SHELLGATE_NOW` (RFC 3339).
pub fn now() -> SystemTime {
    std::env::var("SHELLGATE_NOW")
        .ok()
        .and_then(|t| humantime::parse_rfc3339_weak(&t).ok())
        .unwrap_or_else(SystemTime::now)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_and_ranges() {
        let now = humantime::parse_rfc3339("2026-11-23T00:00:00Z").unwrap();
        assert_eq!(
            parse_time("2026-11-22", now).unwrap(),
            humantime::parse_rfc3339("2026-11-22T00:00:00Z").unwrap()
        );
        assert_eq!(
            parse_time("24h", now).unwrap(),
            humantime::parse_rfc3339("2026-11-22T00:00:00Z").unwrap()
        );
        let w = Window::parse_range("2026-11-01..", now).unwrap();
        assert!(w.until.is_none() && w.since.is_some());
        assert!(Window::parse_range("2026-11-01", now).is_err());
        assert!(parse_time("yesterday", now)
            .unwrap_err()
            .contains("RFC 3339"));
    }
}
