// No console window on Windows release builds.
#![cfg_attr(not(debug_assertions), windows_subsystem = "windows")]

fn main() -> std::process::ExitCode {
    // The Local account's terminal sessions run this executable again as their helper.
    if let Some(code) = portholed::run_helper_if_requested() {
        return code;
    }
    match porthole_desktop::run() {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("porthole: {message}");
            std::process::ExitCode::FAILURE
        }
    }
}
