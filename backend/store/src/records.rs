//! Stored documents that are not runs: explorations (and searches), one JSON
//! file each under `STORE/<kind>s/ID.json`, replaced atomically like a
//! manifest so a reader never sees half of one.

use std::fs;
use std::path::PathBuf;

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::{Store, StoreError, io_err, validate_id, write_atomically};

/// A document kept in a [`Records`] collection.
pub trait Record: Serialize + DeserializeOwned {
    /// Its id (also its file name).
    fn id(&self) -> &str;
    /// When it started (ms since the epoch), for newest-first listings.
    fn started_ms(&self) -> u64;
}

impl Record for bop_model::Exploration {
    fn id(&self) -> &str {
        &self.id
    }
    fn started_ms(&self) -> u64 {
        self.started_ms
    }
}

impl Record for bop_model::Search {
    fn id(&self) -> &str {
        &self.id
    }
    fn started_ms(&self) -> u64 {
        self.started_ms
    }
}

/// One collection of stored documents.
#[derive(Clone, Debug)]
pub struct Records {
    dir: PathBuf,
    kind: &'static str,
}

impl Store {
    /// The stored explorations.
    pub fn explorations(&self) -> Records {
        Records {
            dir: self.root().join("explorations"),
            kind: "exploration",
        }
    }

    /// The stored searches (`bop search`).
    pub fn searches(&self) -> Records {
        Records {
            dir: self.root().join("searches"),
            kind: "search",
        }
    }
}

impl Records {
    /// Every readable document, newest first (unreadable files are skipped:
    /// one being written, foreign files).
    pub fn list<T: Record>(&self) -> Vec<T> {
        let mut all: Vec<T> = fs::read_dir(&self.dir)
            .into_iter()
            .flatten()
            .flatten()
            .filter(|e| e.file_name().to_string_lossy().ends_with(".json"))
            .filter_map(|e| fs::read(e.path()).ok())
            .filter_map(|b| serde_json::from_slice(&b).ok())
            .collect();
        all.sort_by_key(|r| std::cmp::Reverse(r.started_ms()));
        all
    }

    /// One document.
    pub fn load<T: Record>(&self, id: &str) -> Result<T, StoreError> {
        validate_id(id)?;
        let path = self.dir.join(format!("{id}.json"));
        let bytes = fs::read(&path).map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => StoreError::NoRecord {
                kind: self.kind,
                id: id.to_string(),
            },
            _ => io_err("cannot read", &path)(e),
        })?;
        serde_json::from_slice(&bytes).map_err(|e| StoreError::CorruptRecord {
            kind: self.kind,
            id: id.to_string(),
            reason: e.to_string(),
        })
    }

    /// Writes (or replaces) a document.
    pub fn save<T: Record>(&self, record: &T) -> Result<(), StoreError> {
        validate_id(record.id())?;
        fs::create_dir_all(&self.dir).map_err(io_err("cannot create", &self.dir))?;
        let bytes = serde_json::to_vec_pretty(record).map_err(|e| StoreError::CorruptRecord {
            kind: self.kind,
            id: record.id().to_string(),
            reason: e.to_string(),
        })?;
        write_atomically(&self.dir.join(format!("{}.json", record.id())), &bytes)
    }

    /// The directory the documents live in (plans and scratch files of a
    /// running exploration go beside them).
    pub fn dir(&self) -> &std::path::Path {
        &self.dir
    }
}
