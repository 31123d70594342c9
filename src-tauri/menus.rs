//! Menu entries the tray and the session windows share: a session's actions (from
//! `porthole_core::tray`), and "Open Porthole". A leaf module: the tray handles every menu event
//! of the app, and the windows build their menus from here without depending on the tray.

use porthole_core::tray::TrayItem;
use tauri::menu::{Menu, MenuItem, Submenu};
use tauri::AppHandle;

/// "Open Porthole": shows the main window.
pub const OPEN: &str = "open-porthole";

/// A session's actions as menu entries; an entry that asks first becomes a submenu with one
/// confirming entry. Used by the tray and by the session windows' menus.
pub fn append_items(
    app: &AppHandle,
    to: &impl MenuAppend,
    items: &[TrayItem],
) -> tauri::Result<()> {
    for item in items {
        match &item.confirm {
            None => to.add(&MenuItem::with_id(
                app,
                &item.id,
                &item.label,
                item.enabled,
                None::<&str>,
            )?)?,
            Some(confirm) => {
                let sub = Submenu::new(app, &item.label, item.enabled)?;
                sub.append(&MenuItem::with_id(
                    app,
                    &item.id,
                    confirm,
                    item.enabled,
                    None::<&str>,
                )?)?;
                to.add(&sub)?;
            }
        }
    }
    Ok(())
}

/// `Menu` and `Submenu` both take items.
pub trait MenuAppend {
    fn add(&self, item: &dyn tauri::menu::IsMenuItem<tauri::Wry>) -> tauri::Result<()>;
}

impl MenuAppend for Menu<tauri::Wry> {
    fn add(&self, item: &dyn tauri::menu::IsMenuItem<tauri::Wry>) -> tauri::Result<()> {
        self.append(item)
    }
}

impl MenuAppend for Submenu<tauri::Wry> {
    fn add(&self, item: &dyn tauri::menu::IsMenuItem<tauri::Wry>) -> tauri::Result<()> {
        self.append(item)
    }
}
