//! The `/api/searches` handlers (docs/API.md "Searches"): thin over
//! [`super::Searches`].

use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::SearchRequest;
use crate::error::{ApiError, ApiJson};
use crate::state::AppState;

/// Path ids are checked before anything touches the file system.
fn checked(id: &str) -> Result<String, ApiError> {
    bop_store::validate_id(id)?;
    Ok(id.to_string())
}

/// `POST /api/searches`: 202 with the new search's id and its `Location`.
pub(crate) async fn post(
    State(state): State<AppState>,
    body: Result<ApiJson<Value>, ApiError>,
) -> Result<Response, ApiError> {
    let ApiJson(body) = body?;
    // serde reads a struct from a JSON array too: a request is an object.
    if !body.is_object() {
        return Err(ApiError::InvalidBody(
            "a search request is a JSON object {\"run\": ID, \"budget\": N}".into(),
        ));
    }
    let request: SearchRequest =
        serde_json::from_value(body).map_err(|e| ApiError::InvalidBody(e.to_string()))?;
    let id = state.searches().start(request).await?;
    Ok((
        StatusCode::ACCEPTED,
        [(header::LOCATION, format!("/api/searches/{id}"))],
        axum::Json(json!({ "id": id })),
    )
        .into_response())
}

/// `GET /api/searches/{id}`: the stored record and the process's state.
pub(crate) async fn get(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let id = checked(&id)?;
    let status = tokio::task::spawn_blocking(move || state.searches().status(&id))
        .await
        .map_err(|e| ApiError::Internal(format!("store task failed: {e}")))??;
    Ok(axum::Json(status).into_response())
}

/// `GET /api/searches`: every search, newest first.
pub(crate) async fn list(State(state): State<AppState>) -> Result<Response, ApiError> {
    let all = tokio::task::spawn_blocking(move || state.searches().list())
        .await
        .map_err(|e| ApiError::Internal(format!("store task failed: {e}")))?;
    Ok(axum::Json(json!({ "searches": all })).into_response())
}

/// `POST /api/searches/{id}/stop`: 202; the state turns `stopped` once
/// the child has saved itself.
pub(crate) async fn stop(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let id = checked(&id)?;
    state.searches().stop(&id)?;
    Ok((StatusCode::ACCEPTED, axum::Json(json!({ "id": id }))).into_response())
}
