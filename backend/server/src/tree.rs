//! `GET /api/runs/{id}/tree`: the rerun tree of one run (its reruns, their
//! reruns, ..., each with its fault plan and verdict, and the runs above
//! it), built by [`bop_store::rerun_tree`] from one scan of the store.
//! The `/runs/{id}/tree` page draws it (frontend ui/tree.ts).

use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};

use super::error::ApiError;
use super::state::AppState;
use bop_store::{StoreError, rerun_tree, validate_id};

pub(crate) async fn get_tree(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    validate_id(&id)?;
    let store = state.store().clone();
    let tree = tokio::task::spawn_blocking(move || {
        let runs = store.list()?;
        rerun_tree(&runs, &id).ok_or_else(|| {
            ApiError::from(StoreError::NotFound {
                id,
                root: store.root().display().to_string(),
            })
        })
    })
    .await
    .map_err(|e| ApiError::Internal(format!("tree task failed: {e}")))??;
    Ok(axum::Json(tree).into_response())
}
