//! Machine-readable measurements of a command (`--stats-json`): one JSON object on one stdout line.

use serde_json::{Map, Value};

/// Peak resident set size of this process in bytes (`VmHWM` of `/proc/self/status`), where the
/// platform reports it.
pub(crate) fn peak_rss_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|line| line.starts_with("VmHWM:"))?;
    let kib: u64 = line.trim_start_matches("VmHWM:").trim().trim_end_matches("kB").trim().parse().ok()?;
    Some(kib * 1024)
}

/// Prints `{"command": <command>, <fields>…, "peak_rss_bytes": …}` as one line on stdout.
pub(crate) fn print(command: &str, fields: &[(&str, Value)]) {
    let mut object = Map::new();
    object.insert("command".into(), Value::from(command));
    for (name, value) in fields {
        object.insert((*name).to_owned(), value.clone());
    }
    object.insert("peak_rss_bytes".into(), peak_rss_bytes().map_or(Value::Null, Value::from));
    println!("{}", Value::Object(object));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn peak_rss_is_read_on_linux() {
        if cfg!(target_os = "linux") {
            let rss = peak_rss_bytes().expect("Linux reports VmHWM");
            assert!(rss > 1 << 20, "a running test binary holds more than 1 MiB: {rss}");
        }
    }
}
