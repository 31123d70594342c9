fn main() {
    // App commands are ACL-gated: each one needs an explicit permission in a capability, so a
    // window that no capability names (a session window) can call none of them.
    tauri_build::try_build(tauri_build::Attributes::new().app_manifest(
        tauri_build::AppManifest::new().commands(&[
            "app_info",
            "get_start_at_login",
            "set_start_at_login",
            "list_accounts",
            "add_account",
            "set_account_key",
            "edit_account",
            "remove_account",
            "test_account",
            "account_details",
            "set_default_account",
            "list_sessions",
            "launch_session",
            "extend_session",
            "stop_session",
            "cancel_session",
            "launch_parameters",
            "session_prompts",
            "session_jobs",
            "respond_to_prompt",
            "reject_prompt",
            "provider_descriptors",
            "take_shown_session",
            "list_machines",
            "list_resources",
            "follow_logs",
            "refresh_sessions",
            "open_session",
            "session_history",
            "get_settings",
            "save_settings",
            "tray_menu",
            "activate_menu_item",
        ]),
    ))
    .expect("failed to run tauri-build");
}
