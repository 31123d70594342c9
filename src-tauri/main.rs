// No console window on Windows release builds.
#![cfg_attr(not(debug_assertions), windows_subsystem = "windows")]

fn main() {
    if let Err(message) = porthole_desktop::run() {
        eprintln!("porthole: {message}");
        std::process::exit(1);
    }
}
