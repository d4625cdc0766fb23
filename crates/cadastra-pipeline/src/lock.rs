//! One run at a time per registry: an advisory lock (flock) on `<registry>.lock`, released by the
//! operating system when the process ends, however it ends. A lock file left by a killed run is
//! therefore detected as stale (it exists but nobody holds it) and reused with a message.

use crate::run::RunError;
use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, Write};
use std::path::PathBuf;

pub struct RegistryLock {
    file: File,
    path: PathBuf,
    pub notes: Vec<String>,
}

fn lock_path(registry: &str) -> PathBuf {
    if registry.starts_with("postgres") {
        // PostGIS runs also take a database advisory lock; this file serialises runs on this machine
        let mut h: u64 = 0xcbf29ce484222325;
        for b in registry.split('@').next_back().unwrap_or(registry).bytes() {
            h = (h ^ b as u64).wrapping_mul(0x100000001b3);
        }
        std::env::temp_dir().join(format!("cadastra-pg-{h:016x}.lock"))
    } else {
        PathBuf::from(format!("{registry}.lock"))
    }
}

impl RegistryLock {
    /// Take the lock or refuse with a clear message naming the holder.
    pub fn acquire(registry: &str) -> Result<RegistryLock, RunError> {
        let path = lock_path(registry);
        if let Some(dir) = path.parent() {
            if !dir.as_os_str().is_empty() {
                std::fs::create_dir_all(dir).map_err(|e| RunError::Io {
                    path: dir.display().to_string(),
                    message: e.to_string(),
                })?;
            }
        }
        let existed = path.exists();
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(|e| RunError::Io {
                path: path.display().to_string(),
                message: e.to_string(),
            })?;
        let mut holder = String::new();
        let _ = file.read_to_string(&mut holder);
        match file.try_lock() {
            Ok(()) => {}
            Err(_) => {
                return Err(RunError::Io {
                    path: registry.to_string(),
                    message: format!(
                        "another cadastra run is using this registry ({}); wait for it to finish",
                        holder.trim()
                    ),
                })
            }
        }
        let mut notes = Vec::new();
        if existed && !holder.trim().is_empty() {
            notes.push(format!(
                "stale lock {} from an interrupted run ({}) was cleaned up",
                path.display(),
                holder.trim()
            ));
        }
        let _ = file.set_len(0);
        let _ = file.rewind();
        let _ = write!(
            file,
            "pid {} since {:?}",
            std::process::id(),
            std::time::SystemTime::now()
        );
        let _ = file.flush();
        Ok(RegistryLock { file, path, notes })
    }
}

impl Drop for RegistryLock {
    fn drop(&mut self) {
        let _ = self.file.set_len(0);
        let _ = std::fs::remove_file(&self.path);
        let _ = self.file.unlock();
    }
}
