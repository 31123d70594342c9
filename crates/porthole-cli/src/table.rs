//! Plain aligned tables and the small text formats people read (time left, prices, memory).

use chrono::Duration;

/// Left-aligned columns separated by two spaces; the last column is not padded. Widths count
/// characters, not bytes, so names with accents line up.
pub fn render(headers: &[&str], rows: &[Vec<String>]) -> String {
    let columns = headers.len();
    let mut widths: Vec<usize> = headers.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (i, cell) in row.iter().enumerate().take(columns) {
            widths[i] = widths[i].max(cell.chars().count());
        }
    }
    let mut out = String::new();
    let header_row: Vec<String> = headers.iter().map(|h| (*h).to_owned()).collect();
    for row in std::iter::once(&header_row).chain(rows) {
        let mut line = String::new();
        for (i, width) in widths.iter().enumerate() {
            let cell = row.get(i).map(String::as_str).unwrap_or("");
            if i + 1 == columns {
                line.push_str(cell);
            } else {
                line.push_str(cell);
                let pad = width - cell.chars().count();
                line.extend(std::iter::repeat_n(' ', pad + 2));
            }
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

/// Key/value lines with the keys aligned ("state:     ready").
pub fn render_fields(fields: &[(&str, String)]) -> String {
    let width = fields
        .iter()
        .map(|(k, _)| k.chars().count())
        .max()
        .unwrap_or(0);
    let mut out = String::new();
    for (key, value) in fields {
        let pad = width - key.chars().count();
        out.push_str(key);
        out.push(':');
        out.extend(std::iter::repeat_n(' ', pad + 1));
        out.push_str(value);
        out.push('\n');
    }
    out
}

/// Time left for a person: `42m 10s`, `1h 05m`, `2d 03h`, `45s`; `-` without a deadline and
/// `overdue` once it has passed.
pub fn remaining(left: Option<Duration>) -> String {
    let Some(left) = left else {
        return "-".to_owned();
    };
    let secs = left.num_seconds();
    if secs < 0 {
        return "overdue".to_owned();
    }
    let (d, h, m, s) = (
        secs / 86_400,
        secs % 86_400 / 3600,
        secs % 3600 / 60,
        secs % 60,
    );
    if d > 0 {
        format!("{d}d {h:02}h")
    } else if h > 0 {
        format!("{h}h {m:02}m")
    } else if m > 0 {
        format!("{m}m {s:02}s")
    } else {
        format!("{s}s")
    }
}

/// Elapsed time while waiting: `3s`, `1m 05s`.
pub fn elapsed(d: std::time::Duration) -> String {
    let secs = d.as_secs();
    if secs < 60 {
        format!("{secs}s")
    } else {
        format!("{}m {:02}s", secs / 60, secs % 60)
    }
}

/// USD per hour: `$0.00/h` for free, two decimals above a cent, four below.
pub fn price(per_hour: Option<f64>) -> String {
    match per_hour {
        None => "-".to_owned(),
        Some(p) if p == 0.0 || p >= 0.01 => format!("${p:.2}/h"),
        Some(p) => format!("${p:.4}/h"),
    }
}

/// Memory in MiB for a person: `24 GiB`, `512 MiB`.
pub fn memory(mib: Option<u32>) -> String {
    match mib {
        None => "-".to_owned(),
        Some(m) if m >= 1024 => {
            let gib = f64::from(m) / 1024.0;
            if (gib - gib.round()).abs() < 0.05 {
                format!("{gib:.0} GiB")
            } else {
                format!("{gib:.1} GiB")
            }
        }
        Some(m) => format!("{m} MiB"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn columns_line_up_and_lines_have_no_trailing_spaces() {
        let out = render(
            &["ID", "STATE", "URL"],
            &[
                vec!["a".into(), "ready".into(), "http://x".into()],
                vec!["long-id".into(), "starting".into(), "".into()],
            ],
        );
        assert_eq!(
            out,
            "ID       STATE     URL\n\
             a        ready     http://x\n\
             long-id  starting\n"
        );
    }

    #[test]
    fn wide_characters_count_once() {
        let out = render(&["N", "X"], &[vec!["é".into(), "1".into()]]);
        assert_eq!(out, "N  X\né  1\n");
    }

    #[test]
    fn an_empty_table_is_its_header() {
        assert_eq!(render(&["ID", "STATE"], &[]), "ID  STATE\n");
    }

    #[test]
    fn fields_align_their_values() {
        let out = render_fields(&[("id", "abc".into()), ("state", "ready".into())]);
        assert_eq!(out, "id:    abc\nstate: ready\n");
    }

    #[test]
    fn remaining_time_reads_naturally() {
        let s = Duration::seconds;
        assert_eq!(remaining(None), "-");
        assert_eq!(remaining(Some(s(-1))), "overdue");
        assert_eq!(remaining(Some(s(0))), "0s");
        assert_eq!(remaining(Some(s(45))), "45s");
        assert_eq!(remaining(Some(s(42 * 60 + 10))), "42m 10s");
        assert_eq!(remaining(Some(s(5 * 60 + 3))), "5m 03s");
        assert_eq!(remaining(Some(s(3600 + 5 * 60 + 59))), "1h 05m");
        assert_eq!(remaining(Some(s(2 * 86_400 + 3 * 3600))), "2d 03h");
        // Sub-second remainders round down.
        assert_eq!(remaining(Some(Duration::milliseconds(59_999))), "59s");
    }

    #[test]
    fn elapsed_time_reads_naturally() {
        let s = std::time::Duration::from_secs;
        assert_eq!(elapsed(s(3)), "3s");
        assert_eq!(elapsed(s(65)), "1m 05s");
    }

    #[test]
    fn prices_and_memory() {
        assert_eq!(price(None), "-");
        assert_eq!(price(Some(0.0)), "$0.00/h");
        assert_eq!(price(Some(1.5)), "$1.50/h");
        assert_eq!(price(Some(0.0036)), "$0.0036/h");
        assert_eq!(memory(None), "-");
        assert_eq!(memory(Some(512)), "512 MiB");
        assert_eq!(memory(Some(24 * 1024)), "24 GiB");
        assert_eq!(memory(Some(1536)), "1.5 GiB");
    }
}
