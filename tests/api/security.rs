//! Host and Origin checks: a Host other than the address served is refused
//! (DNS rebinding), and so is a write from another origin (cross-site
//! requests); reads from other origins are allowed.

use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};

use super::*;

fn with_host(uri: &str, host: Option<&str>) -> Request<Body> {
    let mut req = Request::get(uri);
    if let Some(host) = host {
        req = req.header(header::HOST, host);
    }
    req.body(Body::empty()).unwrap()
}

fn with_origin(method: Method, uri: &str, origin: &str) -> Request<Body> {
    Request::builder()
        .method(method)
        .uri(uri)
        .header(header::HOST, ADDR)
        .header(header::ORIGIN, origin)
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(PLAN))
        .unwrap()
}

#[tokio::test]
async fn host_and_origin_checks() {
    let f = fixture();
    let host = |uri, host: &str| {
        refused(
            with_host(uri, Some(host)),
            StatusCode::FORBIDDEN,
            "forbidden_host",
            format!("Host '{host}' is not this server; use http://{ADDR}/"),
        )
    };
    let mut cases = vec![
        host("/api/runs", "evil.example:7878"),
        host("/api/runs", "localhost.evil.example:7878"),
        host("/api/runs", "127.0.0.1:9999"),
        host("/api/runs", "localhost"),
        host("/", "rebind.example:7878"),
        refused(
            with_host("/api/runs", None),
            StatusCode::FORBIDDEN,
            "forbidden_host",
            "the request has no Host header",
        ),
    ];
    for origin in [
        "http://evil.example",
        "http://127.0.0.1:9999",
        "https://127.0.0.1:7878",
        "null",
    ] {
        for (method, uri) in [
            (Method::POST, "/api/runs/r1/reruns"),
            (Method::DELETE, "/api/runs/r3"),
        ] {
            let detail = format!(
                "{method} from origin '{origin}' refused: \
                 only pages served by this server may change runs"
            );
            cases.push(refused(
                with_origin(method, uri, origin),
                StatusCode::FORBIDDEN,
                "cross_origin",
                detail,
            ));
        }
    }
    assert_refused(&f.app, cases).await;
    assert!(f.store.root().join("r3").exists());
    assert_eq!(
        send(&f.app, get("/api/reruns")).await.json()["reruns"],
        serde_json::json!([]),
        "no rerun started"
    );

    for host in ["localhost:7878", "127.0.0.1:7878", "[::1]:7878"] {
        let reply = send(&f.app, with_host("/api/runs", Some(host))).await;
        assert_eq!(reply.status, StatusCode::OK, "{host}: {}", reply.text());
    }
    // Reads carry no risk of change; the browser keeps their answers from other origins.
    assert_eq!(
        send(
            &f.app,
            with_origin(Method::GET, "/api/runs", "http://evil.example")
        )
        .await
        .status,
        StatusCode::OK
    );
    let same = send(
        &f.app,
        with_origin(Method::DELETE, "/api/runs/r3", "http://localhost:7878"),
    )
    .await;
    assert_eq!(same.status, StatusCode::NO_CONTENT, "{}", same.text());
}
