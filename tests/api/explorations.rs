//! Explorations written by `bop explore`: listed newest first with their
//! summary, served whole, corrupt files reported, and their pages.

use axum::http::StatusCode;
use bop_store::Store;
use serde_json::{Value, json};

use super::*;

/// Writes `STORE/explorations/ID.json` as `bop explore` would.
fn write_exploration(store: &Store, id: &str, started_ms: u64, sweep: bool) {
    let dir = store.root().join("explorations");
    std::fs::create_dir_all(&dir).unwrap();
    let class = |class: &str, count: usize, verdicts: Value, runs: Vec<&str>| {
        json!({ "class": class, "count": count, "verdicts": verdicts, "representative": runs[0],
                "runs": runs, "only_here": [], "missing_here": [] })
    };
    let probe = |m: &str, run: Option<&str>, verdict: Option<&str>, flipped: bool| {
        json!({ "message": m, "channel": "a->b#0", "run": run, "verdict": verdict,
                "flipped": flipped, "fired": run.is_some() })
    };
    let e = json!({
        "id": id, "kind": if sweep { "sweep" } else { "classes" },
        "params": { "base": "r1", "runs": 3, "jitter_ms": 30, "seed": 1,
                    "sweep": if sweep { json!({"fault": "drop"}) } else { Value::Null },
                    "channels": [], "max_runs": 200, "parallel": 2 },
        "base_verdict": "pass", "started_ms": started_ms, "ended_ms": started_ms + 10,
        "complete": true,
        "classes": if sweep { json!([]) } else { json!([
            class("c1", 2, json!({"pass": 2}), vec!["r2", "r3"]),
            class("c2", 1, json!({"fail": 1}), vec!["r1"]) ]) },
        "probes": if sweep { json!([
            probe("a->b#0/0", Some("r2"), Some("fail"), true),
            probe("a->b#0/1", Some("r3"), Some("pass"), false),
            probe("a->b#0/2", None, None, false) ]) } else { json!([]) },
    });
    std::fs::write(
        dir.join(format!("{id}.json")),
        serde_json::to_vec(&e).unwrap(),
    )
    .unwrap();
}

#[tokio::test]
async fn explorations_are_listed_newest_first_and_served_whole() {
    let f = fixture();
    let empty = send(&f.app, get("/api/explorations")).await;
    assert_eq!(empty.status, StatusCode::OK, "{}", empty.text());
    assert_eq!(
        empty.json(),
        json!({ "explorations": [] }),
        "no directory yet"
    );

    write_exploration(&f.store, "cls", 1_000, false);
    write_exploration(&f.store, "sw", 2_000, true);
    // Plan directories and temporary files beside the explorations are not explorations.
    std::fs::create_dir_all(f.store.root().join("explorations/sw.plans")).unwrap();
    let list = send(&f.app, get("/api/explorations")).await.json();
    let rows = list["explorations"].as_array().unwrap();
    let ids: Vec<&str> = rows.iter().map(|r| r["id"].as_str().unwrap()).collect();
    assert_eq!(ids, ["sw", "cls"]);
    assert_eq!(
        rows[0],
        json!({ "id": "sw", "kind": "sweep", "base": "r1", "base_verdict": "pass",
                "started_ms": 2000, "ended_ms": 2010, "complete": true,
                "runs": 2, "classes": 0, "probes": 3, "flipped": 1 })
    );
    assert_eq!(rows[1]["runs"], 3);
    assert_eq!(rows[1]["classes"], 2);

    let one = send(&f.app, get("/api/explorations/cls")).await;
    assert_eq!(one.status, StatusCode::OK, "{}", one.text());
    let one = one.json();
    assert_eq!(one["classes"][0]["representative"], "r2");
    assert_eq!(one["classes"][1]["verdicts"], json!({"fail": 1}));
    let parsed: bop_model::Exploration = serde_json::from_value(one).unwrap();
    assert_eq!(parsed.classes.len(), 2);

    assert_refused(
        &f.app,
        vec![
            refused(
                get("/api/explorations/.."),
                StatusCode::BAD_REQUEST,
                "invalid_id",
                "'..' is not a valid",
            ),
            refused(
                get("/api/explorations/nope"),
                StatusCode::NOT_FOUND,
                "not_found",
                "no exploration 'nope' in this store",
            ),
        ],
    )
    .await;
    std::fs::write(f.store.root().join("explorations/bad.json"), "{not json").unwrap();
    let corrupt = send(&f.app, get("/api/explorations/bad")).await;
    corrupt.assert_error(StatusCode::INTERNAL_SERVER_ERROR, "corrupt_run");
    assert!(
        corrupt.json()["detail"]
            .as_str()
            .unwrap()
            .contains("exploration 'bad' is corrupt")
    );
    assert_eq!(
        send(&f.app, get("/api/explorations")).await.json()["explorations"]
            .as_array()
            .unwrap()
            .len(),
        2,
        "a corrupt file is left out of the list"
    );

    let page = send(&f.app, get("/explorations")).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.text().contains(r#"data-page="explorations""#));
    let page = send(&f.app, get("/explorations/sw")).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.text().contains(r#"data-exploration-id="sw""#));
    let missing = send(&f.app, get("/explorations/nope")).await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
    assert!(missing.text().contains(r#"data-exploration-id="nope""#));
    assert_eq!(
        send(&f.app, get("/explorations/..")).await.status,
        StatusCode::BAD_REQUEST
    );
}
