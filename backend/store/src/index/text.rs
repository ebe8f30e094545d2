//! The find table of the index: an FTS5 table (`find_text`, trigram
//! tokens, rowid = event id) over what find matches, so that a find of a
//! 10^6-event run reads the doclists of a few trigrams instead of every
//! row (issue 16 item 2).
//!
//! Find matches ASCII case-insensitively: the needle is lower-cased, the
//! names and bytes are ASCII lower-cased (bop-tracker's `find`). The table
//! holds the same folding: its columns are written ASCII lower-cased and
//! tokenized case-sensitively, so a trigram phrase query of the lower-cased
//! needle matches exactly the events find matches, in any column (a phrase
//! never spans columns), with two exceptions the caller routes to the
//! linear scan instead ([`indexable`]): needles shorter than three
//! characters (a trigram table has no token for them), needles holding
//! U+FFFD (payloads are stored as lossy UTF-8, whose replacement
//! characters are not the payload's bytes) and needles holding NUL (FTS5
//! reads its query as a C string). Everything else is exact:
//! lossy decoding keeps every valid UTF-8 sequence, and a needle (valid
//! UTF-8, starting on a character) found in the bytes is found in the
//! text, and back.
//!
//! The table is contentless (`content=''`): the text lives only as
//! tokens, the events table holds the fields; `columnsize=0` drops the
//! per-row sizes ranking would need.
//!
//! It is a file of its own (`find.sqlite`, attached as `find` when the
//! index is opened), written on a thread of its own beside the index's
//! other tables: SQLite writes one file from one connection at a time,
//! and the find table was about a third of the index's build (half at
//! 10^6 events). Its `meta` holds the same stamp, layout version and
//! `complete` row as the index's; [`attach`] checks them when the index
//! is opened.

use std::path::Path;

use rusqlite::{Connection, params};

use super::{INDEX_SCHEMA, IndexError, Stamp, check_whole, meta, unusable};
use bop_tracker::CausalGraph;
use bop_tracker::export;

/// File name of the find table in a run directory.
pub const FIND: &str = "find.sqlite";

/// The table. FTS5 keeps a hash of the rows' tokens in memory and flushes
/// it as one more segment to merge when it passes `hashsize` (1 MB by
/// default): 16 MB halves the table's build time at 10^6 events (20.8 to
/// 11.1 s in SQLite alone, 2 loaded cores) for that much memory during
/// the build.
const TABLE: &str = "CREATE TABLE meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);
     CREATE VIRTUAL TABLE find_text USING fts5(name, channel, data, \
     tokenize = 'trigram case_sensitive 1', content = '', columnsize = 0);
     INSERT INTO find_text(find_text, rank) VALUES ('hashsize', 16777216);";

/// Writes the find table of graph `g` to `path` (a temporary file the
/// caller renames), one row per event in id order (ascending rowids
/// append to FTS5's doclists instead of merging into them), its `meta`
/// last.
pub(super) fn write_file(path: &Path, g: &CausalGraph<'_>, stamp: Stamp) -> Result<(), IndexError> {
    let mut conn = Connection::open(path)?;
    conn.execute_batch("PRAGMA journal_mode=OFF; PRAGMA synchronous=OFF;")?;
    conn.execute_batch(TABLE)?;
    let tx = conn.transaction()?;
    {
        let mut ins = tx
            .prepare("INSERT INTO find_text(rowid, name, channel, data) VALUES (?1, ?2, ?3, ?4)")?;
        for i in 0..g.events().len() {
            let e = export::event_out(g, i);
            let data = e.data.as_deref().map(payload_text);
            ins.execute(params![
                e.id as i64,
                e.name.to_ascii_lowercase(),
                e.channel.as_deref().map(str::to_ascii_lowercase),
                data,
            ])?;
        }
        let mut put = tx.prepare("INSERT INTO meta(key, value) VALUES (?1, ?2)")?;
        put.execute(params!["schema", INDEX_SCHEMA.to_string()])?;
        put.execute(params!["stamp", super::json(&stamp)?])?;
        put.execute(params!["complete", "1"])?;
    }
    tx.commit()?;
    conn.close().map_err(|(_, e)| e)?;
    Ok(())
}

/// Attaches the find table at `path` to `conn` (the index's) as `find`,
/// after checking it as `Index::open` checks the index: whole, finished,
/// this layout, built from the log `stamp` stamps.
pub(super) fn attach(conn: &Connection, path: &Path, stamp: Stamp) -> Result<(), IndexError> {
    if !path.is_file() {
        return Err(unusable(path, format!("{FIND} is missing")));
    }
    let name = path
        .to_str()
        .ok_or_else(|| unusable(path, "a path that is not UTF-8".into()))?;
    conn.execute("ATTACH DATABASE ?1 AS find", [name])
        .map_err(|e| unusable(path, e.to_string()))?;
    let checked = check_whole(conn, "find", path).and_then(|()| {
        let built = meta(conn, "find", path, "stamp")?;
        let built: Stamp =
            serde_json::from_str(&built).map_err(|e| unusable(path, e.to_string()))?;
        if built != stamp {
            return Err(unusable(path, "built from another event log".into()));
        }
        Ok(())
    });
    if checked.is_err() {
        let _ = conn.execute_batch("DETACH DATABASE find");
    }
    checked
}

/// Whether the table answers a find of `needle` (already lower-cased)
/// exactly (see the module docs).
pub(super) fn indexable(needle: &str) -> bool {
    needle.chars().count() >= 3 && !needle.contains(['\u{FFFD}', '\0'])
}

/// The FTS5 query of `needle`: one phrase, quotes doubled.
pub(super) fn phrase(needle: &str) -> String {
    format!("\"{}\"", needle.replace('"', "\"\""))
}

/// The payload as find sees it: hex decoded up to the first bad digit (as
/// find decodes), ASCII lower-cased, as lossy UTF-8.
fn payload_text(hex: &str) -> String {
    let bytes: Vec<u8> = hex
        .as_bytes()
        .chunks_exact(2)
        .map_while(|pair| {
            let s = std::str::from_utf8(pair).ok()?;
            u8::from_str_radix(s, 16)
                .ok()
                .map(|b| b.to_ascii_lowercase())
        })
        .collect();
    String::from_utf8_lossy(&bytes).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payloads_decode_as_find_decodes_them() {
        assert_eq!(payload_text("474554202f4b6579"), "get /key");
        // A bad digit ends the decoded bytes.
        assert_eq!(payload_text("41zz42"), "a");
        // Invalid UTF-8 keeps the valid sequences around it.
        assert_eq!(payload_text("ffc3a9"), "\u{FFFD}é");
    }

    #[test]
    fn short_needles_and_replacement_characters_are_scanned() {
        assert!(!indexable("ab"));
        assert!(!indexable("a\u{FFFD}b"));
        assert!(!indexable("a\0b"));
        assert!(indexable("abc"));
        assert!(indexable("éèà"));
        assert_eq!(phrase("a\"b"), "\"a\"\"b\"");
    }
}
