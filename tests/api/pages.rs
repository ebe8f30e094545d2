//! Pages and static files: each page is a shell naming what it shows (the
//! scripts fetch the rest from the API), bad ids are refused and escaped,
//! and static files are served from the static directory only.

use std::path::Path;

use axum::http::{StatusCode, header};

use super::*;

#[tokio::test]
async fn pages_and_static_files() {
    let f = fixture();
    let home = send(&f.app, get("/")).await;
    assert_eq!(home.status, StatusCode::OK);
    assert!(home.content_type().starts_with("text/html"));
    assert!(home.text().contains(r#"data-page="runs""#));
    assert!(home.text().contains(r#"src="/static/app.js""#));

    let js = send(&f.app, get("/static/app.js")).await;
    assert_eq!(js.status, StatusCode::OK);
    assert_eq!(js.text(), "console.log('bop');\n");
    assert_eq!(js.headers[header::CACHE_CONTROL], "no-cache");

    let bad = send(&f.app, get("/runs/%3Cscript%3E")).await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    assert!(!bad.text().contains("<script>"), "ids are escaped");

    // (page, status, text it must contain).
    let mut failures = Vec::new();
    for (uri, status, contains) in [
        ("/runs/r1", StatusCode::OK, r#"data-run-id="r1""#),
        // The shell still loads to show the API's detail.
        ("/runs/nope", StatusCode::NOT_FOUND, r#"data-run-id="nope""#),
        ("/compare?a=r1&b=r2", StatusCode::OK, r#"href="/runs/r2""#),
        ("/compare?a=..", StatusCode::BAD_REQUEST, ""),
        ("/static/nothing.js", StatusCode::NOT_FOUND, ""),
        ("/static/../Cargo.toml", StatusCode::NOT_FOUND, ""),
        ("/no/such/page", StatusCode::NOT_FOUND, ""),
    ] {
        let reply = send(&f.app, get(uri)).await;
        if reply.status != status || !reply.text().contains(contains) {
            failures.push(format!(
                "GET {uri}: expected {status} containing {contains:?}, got {}: {}",
                reply.status,
                reply.text()
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn default_static_dir_is_the_source_tree_or_cwd() {
    let dir = bop_server::default_static_dir();
    let source = Path::new(env!("CARGO_MANIFEST_DIR")).join("../static");
    if source.is_dir() {
        assert_eq!(
            dir.canonicalize().ok(),
            source.canonicalize().ok(),
            "{}",
            dir.display()
        );
    } else {
        assert_eq!(dir, Path::new("static"));
    }
}
