//! The names the shell's modules share: window labels. A leaf module, so that any module can
//! name a window without depending on the module that makes it.

/// The main window's label (the only window with capabilities).
pub const MAIN: &str = "main";

/// The label of a session's window: `session-` and the id, with anything a label cannot hold
/// replaced (labels allow letters, digits, `-`, `/`, `:` and `_`).
pub fn session_label(session_id: &str) -> String {
    let id: String = session_id
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect();
    format!("session-{id}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn session_labels_hold_only_what_labels_may() {
        assert_eq!(session_label("abc-123_x"), "session-abc-123_x");
        assert_eq!(session_label("a/b:c d"), "session-a_b_c_d");
    }
}
