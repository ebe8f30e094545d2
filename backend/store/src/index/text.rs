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

use rusqlite::{Transaction, params};

use super::IndexError;
use bop_tracker::export::EventOut;

/// The table, written with the other tables. FTS5 keeps a hash of the
/// rows' tokens in memory and flushes it as one more segment to merge
/// when it passes `hashsize` (1 MB by default): 16 MB halves the table's
/// build time at 10^6 events (20.8 to 11.1 s in SQLite alone, 2 loaded
/// cores) for that much memory during the build.
pub(super) const TABLE: &str = "CREATE VIRTUAL TABLE find_text USING fts5(name, channel, data, \
     tokenize = 'trigram case_sensitive 1', content = '', columnsize = 0);
     INSERT INTO find_text(find_text, rank) VALUES ('hashsize', 16777216);";

/// Whether the table answers a find of `needle` (already lower-cased)
/// exactly (see the module docs).
pub(super) fn indexable(needle: &str) -> bool {
    needle.chars().count() >= 3 && !needle.contains(['\u{FFFD}', '\0'])
}

/// The FTS5 query of `needle`: one phrase, quotes doubled.
pub(super) fn phrase(needle: &str) -> String {
    format!("\"{}\"", needle.replace('"', "\"\""))
}

/// Writes the rows of the find table, one per event, as the events are
/// inserted.
pub(super) struct Writer<'t> {
    ins: rusqlite::Statement<'t>,
}

impl<'t> Writer<'t> {
    pub(super) fn new(tx: &'t Transaction<'_>) -> Result<Writer<'t>, IndexError> {
        Ok(Writer {
            ins: tx.prepare(
                "INSERT INTO find_text(rowid, name, channel, data) VALUES (?1, ?2, ?3, ?4)",
            )?,
        })
    }

    /// The row of event `e`.
    pub(super) fn insert(&mut self, e: &EventOut) -> Result<(), IndexError> {
        let data = e.data.as_deref().map(payload_text);
        self.ins.execute(params![
            e.id as i64,
            e.name.to_ascii_lowercase(),
            e.channel.as_deref().map(str::to_ascii_lowercase),
            data,
        ])?;
        Ok(())
    }
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
