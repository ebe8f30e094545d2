//! The body of `POST /api/searches` and its checks: `bop search`'s options,
//! each within bounds (docs/API.md), before anything is written or started.

use serde::Deserialize;

use crate::error::ApiError;
use bop_model::FaultKind;

/// Largest budget one search may ask for.
pub(crate) const MAX_BUDGET: usize = 1000;
/// Largest fault set a search may try.
pub(crate) const MAX_SET: usize = 5;

/// The body of `POST /api/searches`.
#[derive(Deserialize, Debug)]
#[serde(deny_unknown_fields)]
pub(crate) struct SearchRequest {
    /// The base run.
    pub run: String,
    /// Reruns at most (`--budget`).
    pub budget: usize,
    /// Fault kinds (`--faults`); every kind when absent.
    #[serde(default)]
    pub faults: Option<Vec<FaultKind>>,
    /// Largest fault set (`--max-faults`), 3 when absent.
    #[serde(default)]
    pub max_faults: Option<usize>,
    /// Reruns confirming a failing fault set (`--confirm`), 3 when absent.
    #[serde(default)]
    pub confirm: Option<usize>,
    /// Plain reruns recorded first (`--baselines`), 5 when absent.
    #[serde(default)]
    pub baselines: Option<usize>,
    /// Reruns at once (`--parallel`); the server's setting when absent.
    #[serde(default)]
    pub parallel: Option<usize>,
}

/// The checked parameters of one search.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Params {
    pub(crate) base: String,
    pub(crate) budget: usize,
    pub(crate) faults: Vec<FaultKind>,
    pub(crate) max_faults: usize,
    pub(crate) confirm: usize,
    pub(crate) baselines: usize,
    /// `None`: [`super::SearchConfig::parallel`].
    pub(crate) parallel: Option<usize>,
}

/// Most reruns confirming one fault set.
pub(crate) const MAX_CONFIRM: usize = 20;
/// Most baselines one search records.
pub(crate) const MAX_BASELINES: usize = 50;
/// Most reruns one search makes at once (each traces a whole target).
pub(crate) const MAX_PARALLEL: usize = 8;

/// `value` (or `default`) when it is within `range`, else a 400 naming it.
fn bounded(
    name: &str,
    value: Option<usize>,
    default: usize,
    range: std::ops::RangeInclusive<usize>,
) -> Result<usize, ApiError> {
    let v = value.unwrap_or(default);
    if range.contains(&v) {
        Ok(v)
    } else {
        Err(ApiError::InvalidSearch(format!(
            "{name} must be {} to {}, not {v}",
            range.start(),
            range.end()
        )))
    }
}

impl SearchRequest {
    /// Checks what does not need the store (400 `invalid_search`).
    pub(crate) fn check(self) -> Result<Params, ApiError> {
        bop_store::validate_id(&self.run)?;
        if !(1..=MAX_BUDGET).contains(&self.budget) {
            return Err(ApiError::InvalidSearch(format!(
                "budget must be 1 to {MAX_BUDGET} reruns, not {}",
                self.budget
            )));
        }
        let max_faults = bounded("max_faults", self.max_faults, 3, 1..=MAX_SET)?;
        let confirm = bounded("confirm", self.confirm, 3, 1..=MAX_CONFIRM)?;
        let baselines = bounded("baselines", self.baselines, 5, 1..=MAX_BASELINES)?;
        let parallel = match self.parallel {
            None => None,
            p => Some(bounded("parallel", p, 1, 1..=MAX_PARALLEL)?),
        };
        let mut faults = Vec::new();
        for kind in self.faults.unwrap_or_else(|| FaultKind::ALL.to_vec()) {
            if !faults.contains(&kind) {
                faults.push(kind);
            }
        }
        if faults.is_empty() {
            return Err(ApiError::InvalidSearch(
                "faults must name at least one kind: drop, delay, crash, partition or error".into(),
            ));
        }
        Ok(Params {
            base: self.run,
            budget: self.budget,
            faults,
            max_faults,
            confirm,
            baselines,
            parallel,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(json: &str) -> Result<Params, String> {
        let r: SearchRequest = serde_json::from_str(json).map_err(|e| e.to_string())?;
        r.check().map_err(|e| e.to_string())
    }

    #[test]
    fn requests_are_checked_with_a_reason() {
        let p = request(r#"{"run":"r1","budget":10}"#).unwrap();
        assert_eq!(p.faults, FaultKind::ALL.to_vec());
        assert_eq!(p.max_faults, 3);
        let p =
            request(r#"{"run":"r1","budget":10,"faults":["drop","drop"],"max_faults":1}"#).unwrap();
        assert_eq!(p.faults, vec![FaultKind::Drop]);
        assert_eq!((p.confirm, p.baselines, p.parallel), (3, 5, None));
        let p =
            request(r#"{"run":"r1","budget":10,"confirm":5,"baselines":2,"parallel":1}"#).unwrap();
        assert_eq!((p.confirm, p.baselines, p.parallel), (5, 2, Some(1)));
        for (json, expect) in [
            (
                r#"{"run":"r1","budget":5,"confirm":0}"#,
                "confirm must be 1 to 20, not 0",
            ),
            (
                r#"{"run":"r1","budget":5,"baselines":0}"#,
                "baselines must be 1 to 50",
            ),
            (
                r#"{"run":"r1","budget":5,"parallel":9}"#,
                "parallel must be 1 to 8, not 9",
            ),
            (r#"{"run":"r1","budget":5,"parallel":"2"}"#, "invalid type"),
            (r#"{"run":"r1","budget":0}"#, "budget must be 1 to 1000"),
            (r#"{"run":"r1","budget":1001}"#, "budget must be 1 to 1000"),
            (
                r#"{"run":"r1","budget":5,"faults":[]}"#,
                "at least one kind",
            ),
            (r#"{"run":"r1","budget":5,"max_faults":0}"#, "max_faults"),
            (r#"{"run":"../x","budget":5}"#, "not a valid run id"),
            (
                r#"{"run":"r1","budget":5,"faults":["explode"]}"#,
                "unknown variant",
            ),
            (r#"{"run":"r1"}"#, "missing field `budget`"),
            (r#"{"run":"r1","budget":5,"x":1}"#, "unknown field"),
        ] {
            let err = request(json).unwrap_err();
            assert!(err.contains(expect), "{json}: {err}");
        }
    }
}
