//! portholed keeps its key in the real OS keychain when one is usable. Runs inside a D-Bus
//! session with gnome-keyring (`scripts/with-keyring.sh`, as `make test` does).
#![allow(clippy::unwrap_used)]

use portholed::key::load_or_create;
use portholed::{KeyLocation, KeyStorage};

#[test]
fn the_key_lives_in_the_keychain_and_survives_a_restart() {
    if std::env::var_os("PORTHOLE_REAL_KEYCHAIN").is_none() {
        eprintln!("skipped: set PORTHOLE_REAL_KEYCHAIN=1 inside a D-Bus session with a keyring");
        return;
    }
    let dir = std::env::temp_dir().join(format!("portholed-keychain-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let (first, location) = load_or_create(&KeyStorage::KeychainOrFile, &dir).unwrap();
    assert_eq!(location, KeyLocation::Keychain);
    let (again, _) = load_or_create(&KeyStorage::KeychainOrFile, &dir).unwrap();
    assert_eq!(first, again, "a restart must find the same key");
    // A client on this computer (the CLI) finds it without creating one.
    assert_eq!(porthole_local::find_key(&dir).unwrap(), Some(first));
    // Nothing was written next to the database.
    assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 0);
    std::fs::remove_dir_all(&dir).unwrap();
}
