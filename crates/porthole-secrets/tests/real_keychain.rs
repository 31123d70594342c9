//! The real Secret Service: runs only inside a D-Bus session with an unlocked keyring
//! (`make test` runs it under dbus-run-session + gnome-keyring; PORTHOLE_REAL_KEYCHAIN=1).
#![allow(clippy::unwrap_used)]

use porthole_secrets::{Keychain, Sensitive};

fn enabled() -> bool {
    std::env::var_os("PORTHOLE_REAL_KEYCHAIN").is_some()
}

#[test]
fn a_key_survives_a_round_trip_through_the_real_keychain() {
    if !enabled() {
        eprintln!("skipped: set PORTHOLE_REAL_KEYCHAIN=1 inside a D-Bus session with a keyring");
        return;
    }
    let chain = Keychain::new(format!("dev.porthole.test.{}", std::process::id()));
    chain.self_test().unwrap();
    let key = Sensitive::new("sk-real-keychain-test".to_owned());
    chain.set("acct-1", &key).unwrap();
    assert_eq!(chain.get("acct-1").unwrap(), Some(key));
    chain.delete("acct-1").unwrap();
    assert_eq!(chain.get("acct-1").unwrap(), None);
}

#[test]
fn self_tests_at_the_same_time_do_not_disturb_each_other() {
    if !enabled() {
        return;
    }
    let threads: Vec<_> = (0..6)
        .map(|_| std::thread::spawn(porthole_secrets::self_test))
        .collect();
    for t in threads {
        t.join().unwrap().unwrap();
    }
}
