//! The comparison of a pair kept on disk, next to run A
//! (`<store>/<A>/compare/<B>.json`), so that a server started afresh
//! answers the big-run page from a file instead of parsing both logs and
//! building both graphs again (seconds of CPU and gigabytes at 10^6
//! events). A file is used only while both runs' manifests and event logs
//! are the files it was computed from (size and modification time, as the
//! graph cache does): a run still being recorded, or deleted and recorded
//! again under the same id, is compared afresh. A file that does not parse
//! (a crash mid-write on a filesystem without atomic rename, a foreign
//! edit) is the same as no file: the caller recomputes and overwrites it.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::UNIX_EPOCH;

use serde::{Deserialize, Serialize};

use bop_store::Store;
use bop_tracker::compare::{Mark, Summary};

/// Bumped when the file's shape or the comparison's meaning changes, so
/// that files of older builds are recomputed rather than misread.
const FORMAT: u32 = 1;

/// Size and modification time (ns since the epoch) of one file.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct FileStamp {
    len: u64,
    modified_ns: Option<u64>,
}

impl FileStamp {
    fn of(path: &Path) -> FileStamp {
        let m = fs::metadata(path).ok();
        FileStamp {
            len: m.as_ref().map_or(0, fs::Metadata::len),
            modified_ns: m
                .and_then(|m| m.modified().ok())
                .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
                .and_then(|d| u64::try_from(d.as_nanos()).ok()),
        }
    }
}

/// What one run's comparison was computed from.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct RunStamp {
    manifest: FileStamp,
    events: FileStamp,
}

/// What a comparison of A with B was computed from.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct PairStamp {
    a: RunStamp,
    b: RunStamp,
}

impl PairStamp {
    /// The stamp of runs `a` and `b` as their files are now.
    pub(crate) fn of(store: &Store, a: &str, b: &str) -> Result<PairStamp, bop_store::StoreError> {
        let run = |id: &str| -> Result<RunStamp, bop_store::StoreError> {
            let r = store.run(id)?;
            Ok(RunStamp {
                manifest: FileStamp::of(&r.file("manifest.json")),
                events: FileStamp::of(&r.file("events.jsonl")),
            })
        };
        Ok(PairStamp {
            a: run(a)?,
            b: run(b)?,
        })
    }
}

/// The file's content.
#[derive(Serialize, Deserialize, Debug)]
pub(crate) struct Stored {
    format: u32,
    stamp: PairStamp,
    /// The summary as `/api/compare/summary` serves it.
    pub(crate) summary: Summary,
    /// Every mark, in order.
    pub(crate) marks: Vec<Mark>,
}

/// Why a kept comparison was not used.
#[derive(Debug, thiserror::Error)]
pub(crate) enum Miss {
    /// There is none (the usual first time).
    #[error("no kept comparison")]
    Absent,
    /// It was computed from other files, or by an older build.
    #[error("the kept comparison is stale")]
    Stale,
    /// It cannot be read or parsed.
    #[error("the kept comparison {path} is damaged: {detail}")]
    Damaged {
        /// The file.
        path: PathBuf,
        /// What went wrong.
        detail: String,
    },
}

/// Where the comparison of `a` with `b` is kept.
pub(crate) fn path(store: &Store, a: &str, b: &str) -> Result<PathBuf, bop_store::StoreError> {
    Ok(store.run(a)?.kept_comparison(b))
}

/// The kept comparison at `path`, if it was computed from `stamp`.
pub(crate) fn load(path: &Path, stamp: &PairStamp) -> Result<Stored, Miss> {
    let bytes = match fs::read(path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Err(Miss::Absent),
        Err(e) => return Err(damaged(path, e)),
    };
    let stored: Stored = serde_json::from_slice(&bytes).map_err(|e| damaged(path, e))?;
    if stored.format != FORMAT || stored.stamp != *stamp {
        return Err(Miss::Stale);
    }
    Ok(stored)
}

fn damaged(path: &Path, e: impl std::fmt::Display) -> Miss {
    Miss::Damaged {
        path: path.to_path_buf(),
        detail: e.to_string(),
    }
}

/// Keeps a comparison at `path`: written to a temporary file and renamed
/// over the old one, so a reader sees the old file or the new, never half.
pub(crate) fn save(
    path: &Path,
    stamp: PairStamp,
    summary: &Summary,
    marks: &[Mark],
) -> std::io::Result<()> {
    #[derive(Serialize)]
    struct Borrowed<'s> {
        format: u32,
        stamp: PairStamp,
        summary: &'s Summary,
        marks: &'s [Mark],
    }
    let dir = path
        .parent()
        .ok_or_else(|| std::io::Error::other("a kept comparison needs a directory"))?;
    fs::create_dir_all(dir)?;
    let tmp = dir.join(format!(
        ".{}.{}.tmp",
        path.file_name()
            .map_or_else(String::new, |n| n.to_string_lossy().into_owned()),
        std::process::id()
    ));
    let write = || -> std::io::Result<()> {
        let mut f = std::io::BufWriter::new(fs::File::create(&tmp)?);
        serde_json::to_writer(
            &mut f,
            &Borrowed {
                format: FORMAT,
                stamp,
                summary,
                marks,
            },
        )?;
        f.flush()?;
        f.get_ref().sync_all()?;
        fs::rename(&tmp, path)
    };
    let r = write();
    if r.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    r
}
