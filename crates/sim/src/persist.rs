//! The optional state file: loaded at start, replaced atomically after every change.

use std::io::Write;
use std::path::{Path, PathBuf};

use crate::state::Store;

#[derive(Debug, thiserror::Error)]
pub enum PersistError {
    #[error("cannot read the state file {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("the state file {path} is not valid simulator state: {source}")]
    Parse {
        path: PathBuf,
        source: serde_json::Error,
    },
    #[error("cannot write the state file {path}: {source}")]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// The stored state, or `None` when the file does not exist yet.
pub fn load(path: &Path) -> Result<Option<Store>, PersistError> {
    let text = match std::fs::read(path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(source) => {
            return Err(PersistError::Read {
                path: path.into(),
                source,
            });
        }
    };
    serde_json::from_slice(&text)
        .map(Some)
        .map_err(|source| PersistError::Parse {
            path: path.into(),
            source,
        })
}

/// Writes a sibling temporary file and renames it over the target, so that a crash never
/// leaves a half-written state behind.
pub fn save(path: &Path, store: &Store) -> Result<(), PersistError> {
    let write_error = |source| PersistError::Write {
        path: path.into(),
        source,
    };
    let json = serde_json::to_vec_pretty(store).map_err(|e| write_error(e.into()))?;
    let mut tmp_name = path.as_os_str().to_owned();
    tmp_name.push(".tmp");
    let tmp = PathBuf::from(tmp_name);
    let mut file = std::fs::File::create(&tmp).map_err(write_error)?;
    file.write_all(&json).map_err(write_error)?;
    file.sync_all().map_err(write_error)?;
    std::fs::rename(&tmp, path).map_err(write_error)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn save_then_load() {
        let dir = std::env::temp_dir().join(format!("vpcep-sim-persist-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("state.json");
        assert!(load(&path).unwrap().is_none());
        let store = Store::new(crate::flavour::Flavour::Otc, "eu-de");
        save(&path, &store).unwrap();
        assert_eq!(load(&path).unwrap(), Some(store));
        assert!(!dir.join("state.json.tmp").exists());
        std::fs::write(&path, b"{").unwrap();
        assert!(matches!(load(&path), Err(PersistError::Parse { .. })));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
