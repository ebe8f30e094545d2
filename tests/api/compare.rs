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
