//! Comparing two runs: the API returns what `bop_tracker::compare`
//! returns, bad pairs are refused, and the page and its picker load.

use axum::http::StatusCode;
use serde_json::Value;

use super::*;

#[tokio::test]
async fn compare_two_runs() {
    let f = fixture();
    let reply = send(&f.app, get("/api/compare?a=r1&b=r2")).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
    let c = reply.json();
    assert_eq!(c["schema"], 1);
    assert_eq!(c["a"]["id"], "r1");
    assert_eq!(c["b"]["id"], "r2");
    assert_eq!(
        (c["a"]["verdict"].as_str(), c["b"]["verdict"].as_str()),
        (Some("pass"), Some("fail"))
    );
    assert_eq!(c["first_divergence"], Value::Null, "the same events: {c}");
    assert!(c["summary"].as_str().is_some_and(|s| !s.is_empty()));
    // The same value `bop_tracker::compare::compare` returns.
    let (ra, rb) = (f.store.run("r1").unwrap(), f.store.run("r2").unwrap());
    let direct = bop_tracker::compare::compare(
        (&ra.manifest().unwrap(), &ra.events().unwrap()),
        (&rb.manifest().unwrap(), &rb.events().unwrap()),
    );
    assert_eq!(c, serde_json::to_value(direct).unwrap());

    use StatusCode as S;
    assert_refused(
        &f.app,
        vec![
            refused(
                get("/api/compare?a=r1"),
                S::BAD_REQUEST,
                "bad_query",
                "the comparison needs two run ids: ?a=RUN&b=RUN (b is missing)",
            ),
            refused(
                get("/api/compare?b=r1&a="),
                S::BAD_REQUEST,
                "bad_query",
                "the comparison needs two run ids: ?a=RUN&b=RUN (a is missing)",
            ),
            refused(
                get("/api/compare?a=r1&b=.."),
                S::BAD_REQUEST,
                "invalid_id",
                "'..' is not a valid run id",
            ),
            refused(
                get("/api/compare?a=nope&b=r1"),
                S::NOT_FOUND,
                "not_found",
                "no run 'nope' in this store",
            ),
        ],
    )
    .await;
    let page = send(&f.app, get("/compare?a=r1&b=r2")).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(
        page.text().contains(r#"data-a="r1" data-b="r2""#),
        "{}",
        page.text()
    );
    let picker = send(&f.app, get("/compare")).await;
    assert_eq!(picker.status, StatusCode::OK);
    assert!(picker.text().contains(r#"id="compare-picker""#));
}

/// Writes run `id`: r1's five events plus `extra` more writes of the client.
fn longer_run(f: &Fixture, id: &str, extra: u64) {
    let run = f.store.create(Some(id)).unwrap();
    run.write_manifest(&manifest(id, 2_000, Some("r1")))
        .unwrap();
    let mut w = run.event_writer().unwrap();
    for ev in f.store.run("r1").unwrap().events().unwrap() {
        w.append(&ev).unwrap();
    }
    for seq in 6..6 + extra {
        let mut ev = Event {
            seq,
            pid: 10,
            tid: 10,
            call: "write".into(),
            start_ns: seq * 10,
            end_ns: Some(seq * 10 + 5),
            ..Default::default()
        };
        (ev.fd, ev.ret, ev.bytes) = (Some(1), Some(3), Some(3));
        w.append(&ev).unwrap();
    }
}

/// The big-run page's routes: the summary with its divergence placed, the
/// marks paged and filtered by range, the same differences as the whole
/// comparison, recomputed when a run's files change; bad pairs and bad
/// pages are refused with `{error, detail}`.
#[tokio::test]
async fn compare_summary_and_marks() {
    let f = fixture();
    longer_run(&f, "r4", 2);
    let full = send(&f.app, get("/api/compare?a=r1&b=r4")).await.json();
    let reply = send(&f.app, get("/api/compare/summary?a=r1&b=r4")).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
    let s = reply.json();
    assert_eq!(
        (s["a"]["id"].as_str(), s["b"]["id"].as_str()),
        (Some("r1"), Some("r4"))
    );
    assert!(
        s.get("events").is_none() && s.get("messages").is_none(),
        "{s}"
    );
    assert_eq!(s["summary"], full["summary"]);
    let d = &s["first_divergence"];
    assert_eq!(d["kind"], "only_b", "{s}");
    assert_eq!(d["b"], full["first_divergence"]["b"]);
    assert_eq!(d["at_a"], Value::Null);
    assert_eq!(d["at_b"]["name"], d["b"]);
    assert_eq!(
        d["at_b"]["time"], 65,
        "end_ns of the first extra write: {d}"
    );
    let listed: usize = full["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["inserted"].as_array().unwrap().len() + t["removed"].as_array().unwrap().len())
        .sum();
    assert_eq!(listed, 2, "{full}");
    assert_eq!(s["differences"]["marks"], 2);

    let marks = send(&f.app, get("/api/compare/marks?a=r1&b=r4"))
        .await
        .json();
    assert_eq!(marks["total"], 2, "{marks}");
    let names: Vec<&str> = marks["marks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            assert_eq!(m["kind"], "event-only-b", "{m}");
            assert_eq!(m["a"], Value::Null);
            m["b"]["name"].as_str().unwrap()
        })
        .collect();
    assert_eq!(names.len(), 2);
    let page = |q: &str| {
        let uri = format!("/api/compare/marks?a=r1&b=r4&{q}");
        let app = f.app.clone();
        async move { send(&app, get(&uri)).await.json() }
    };
    let second = page("offset=1&limit=1").await;
    assert_eq!(
        (second["total"].as_u64(), second["offset"].as_u64()),
        (Some(2), Some(1))
    );
    assert_eq!(second["marks"][0]["b"]["name"], names[1]);
    assert_eq!(page("scale=time&x0=0&x1=60").await["total"], 0);
    let in_range = page("scale=time&x0=70&x1=80").await;
    assert_eq!(in_range["total"], 1, "{in_range}");
    assert_eq!(in_range["marks"][0]["b"]["time"], 75);

    // One more event of B: the cached comparison is not served for the changed run.
    longer_run(&f, "r5", 3);
    std::fs::copy(
        f.store.run("r5").unwrap().file("events.jsonl"),
        f.store.run("r4").unwrap().file("events.jsonl"),
    )
    .unwrap();
    let again = send(&f.app, get("/api/compare/summary?a=r1&b=r4"))
        .await
        .json();
    assert_eq!(again["differences"]["marks"], 3, "{again}");

    use StatusCode as S;
    assert_refused(
        &f.app,
        vec![
            refused(
                get("/api/compare/summary?a=r1"),
                S::BAD_REQUEST,
                "bad_query",
                "the comparison needs two run ids: ?a=RUN&b=RUN (b is missing)",
            ),
            refused(
                get("/api/compare/summary?a=r1&b=.."),
                S::BAD_REQUEST,
                "invalid_id",
                "'..' is not a valid run id",
            ),
            refused(
                get("/api/compare/summary?a=nope&b=r1"),
                S::NOT_FOUND,
                "not_found",
                "no run 'nope' in this store",
            ),
            refused(
                get("/api/compare/marks?a=r1&b=nope"),
                S::NOT_FOUND,
                "not_found",
                "no run 'nope' in this store",
            ),
            refused(
                get("/api/compare/marks?a=r1&b=r4&limit=0"),
                S::BAD_REQUEST,
                "bad_query",
                "limit must be between 1 and 10000, not 0",
            ),
            refused(
                get("/api/compare/marks?a=r1&b=r4&scale=wall"),
                S::BAD_REQUEST,
                "bad_query",
                "scale must be time or logical, not 'wall'",
            ),
            refused(
                get("/api/compare/marks?a=r1&b=r4&x0=9&x1=3"),
                S::BAD_REQUEST,
                "bad_query",
                "x0 (9) must not be after x1 (3)",
            ),
        ],
    )
    .await;
}
