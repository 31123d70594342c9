//! One PTY per terminal session, running the user's shell. Every WebSocket attached to the
//! session sees the same shell; a late joiner first gets the recent output (scrollback).

use std::collections::VecDeque;
use std::io::{Read, Write};
use std::sync::{mpsc, Arc, Mutex};

use portable_pty::{native_pty_system, CommandBuilder, PtySize};
use porthole_core::error::Result;
use porthole_core::{Error, ErrorCode};
use tokio::sync::{broadcast, oneshot};

const SCROLLBACK: usize = 64 * 1024;

pub enum Input {
    Bytes(Vec<u8>),
    Resize { cols: u16, rows: u16 },
}

pub struct Pty {
    input: Mutex<mpsc::Sender<Input>>,
    output: broadcast::Sender<Arc<[u8]>>,
    scrollback: Mutex<VecDeque<u8>>,
    /// The shell's pid; it leads its own session and process group.
    pub shell_pid: i32,
}

fn pty_err(what: &str, e: impl std::fmt::Display) -> Error {
    Error::new(ErrorCode::Internal, format!("{what}: {e}"))
}

impl Pty {
    /// Starts `shell` on a new PTY. `exited` fires when the shell has gone.
    pub fn start(shell: &str) -> Result<(Arc<Pty>, oneshot::Receiver<()>)> {
        let pair = native_pty_system()
            .openpty(PtySize {
                rows: 24,
                cols: 80,
                pixel_width: 0,
                pixel_height: 0,
            })
            .map_err(|e| pty_err("cannot open a PTY", e))?;
        let mut cmd = CommandBuilder::new(shell);
        cmd.env("TERM", "xterm-256color");
        // The session's token opens this terminal: the shell has no use for it.
        cmd.env_remove(crate::process::TOKEN_ENV);
        if let Some(home) = std::env::var_os("HOME") {
            cmd.cwd(home);
        }
        let mut child = pair
            .slave
            .spawn_command(cmd)
            .map_err(|e| pty_err("cannot start the shell", e))?;
        drop(pair.slave);
        let shell_pid = child
            .process_id()
            .and_then(|p| i32::try_from(p).ok())
            .unwrap_or(0);
        let mut reader = pair
            .master
            .try_clone_reader()
            .map_err(|e| pty_err("cannot read the PTY", e))?;
        let mut writer = pair
            .master
            .take_writer()
            .map_err(|e| pty_err("cannot write the PTY", e))?;
        let master = pair.master;
        let (input_tx, input_rx) = mpsc::channel::<Input>();
        let (output, _) = broadcast::channel(256);
        let pty = Arc::new(Pty {
            input: Mutex::new(input_tx),
            output,
            scrollback: Mutex::new(VecDeque::with_capacity(SCROLLBACK)),
            shell_pid,
        });

        // Writer: keystrokes and resizes, in order.
        std::thread::spawn(move || {
            for msg in input_rx {
                match msg {
                    Input::Bytes(b) => {
                        if writer.write_all(&b).and_then(|()| writer.flush()).is_err() {
                            break;
                        }
                    }
                    Input::Resize { cols, rows } => {
                        let _ = master.resize(PtySize {
                            rows,
                            cols,
                            pixel_width: 0,
                            pixel_height: 0,
                        });
                    }
                }
            }
        });

        // Reader: shell output to every attached socket and the scrollback.
        let reading = Arc::clone(&pty);
        std::thread::spawn(move || {
            let mut buf = [0u8; 8192];
            loop {
                match reader.read(&mut buf) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => reading.publish(&buf[..n]),
                }
            }
        });

        let (exited_tx, exited_rx) = oneshot::channel();
        std::thread::spawn(move || {
            let _ = child.wait();
            let _ = exited_tx.send(());
        });
        Ok((pty, exited_rx))
    }

    fn publish(&self, bytes: &[u8]) {
        // Sent under the lock, so `attach` sees each chunk either in the scrollback or on its
        // subscription, never both.
        let mut sb = self
            .scrollback
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        sb.extend(bytes);
        let excess = sb.len().saturating_sub(SCROLLBACK);
        sb.drain(..excess);
        let _ = self.output.send(Arc::from(bytes));
    }

    /// The recent output and a subscription to what follows, taken together so nothing is
    /// lost or repeated in between.
    pub fn attach(&self) -> (Vec<u8>, broadcast::Receiver<Arc<[u8]>>) {
        let sb = self
            .scrollback
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let rx = self.output.subscribe();
        (sb.iter().copied().collect(), rx)
    }

    pub fn send(&self, input: Input) {
        let tx = self
            .input
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let _ = tx.send(input);
    }
}
