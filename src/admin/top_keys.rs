//! `GET /keys/top`: the keys with the largest committed totals, read from the
//! merger's in-memory map (one scan per call; nothing on the ingest path).

use std::cmp::{Ordering, Reverse};
use std::collections::BinaryHeap;

use actix_web::web;
use serde::Deserialize;
use utoipa::IntoParams;

use super::error::{ApiError, ErrorBody};
use super::model::RollupView;
use super::state::AdminState;
use super::views::TopKeys;
use crate::core::{Key, Rollup};

const DEFAULT_LIMIT: usize = 10;
const MAX_LIMIT: usize = 1000;

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct TopQuery {
    /// How many keys (default 10, at most 1000).
    #[param(minimum = 1, maximum = 1000)]
    pub limit: Option<usize>,
}

/// A candidate ordered by count, then by key in reverse, so that the largest
/// element is the largest count with the smallest key.
#[derive(Debug, PartialEq, Eq)]
struct Ranked {
    count: i64,
    key: Reverse<Key>,
    rollup: Rollup,
}

impl Ord for Ranked {
    fn cmp(&self, other: &Self) -> Ordering {
        (self.count, &self.key).cmp(&(other.count, &other.key))
    }
}

impl PartialOrd for Ranked {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

/// The `limit` largest counts seen, ties broken by key; a bounded heap, so a
/// scan of many keys keeps only `limit` of them.
pub struct TopN {
    limit: usize,
    heap: BinaryHeap<Reverse<Ranked>>,
}

impl TopN {
    pub fn new(limit: usize) -> Self {
        TopN {
            limit,
            heap: BinaryHeap::with_capacity(limit + 1),
        }
    }

    pub fn offer(&mut self, key: &Key, rollup: Rollup) {
        if self.limit == 0 {
            return;
        }
        if self.heap.len() == self.limit {
            let smallest = &self.heap.peek().expect("the heap is full").0;
            if (rollup.count, Reverse(key)) <= (smallest.count, Reverse(&smallest.key.0)) {
                return;
            }
            self.heap.pop();
        }
        self.heap.push(Reverse(Ranked {
            count: rollup.count,
            key: Reverse(key.clone()),
            rollup,
        }));
    }

    /// Largest count first.
    pub fn into_sorted(self) -> Vec<(Key, Rollup)> {
        let mut ranked: Vec<Ranked> = self.heap.into_iter().map(|r| r.0).collect();
        ranked.sort_by(|a, b| b.cmp(a));
        ranked.into_iter().map(|r| (r.key.0, r.rollup)).collect()
    }
}

/// The keys with the largest committed totals.
#[utoipa::path(
    get,
    operation_id = "top_keys",
    path = "/keys/top",
    tag = "rollups",
    params(TopQuery),
    responses(
        (status = 200, body = TopKeys),
        (status = 400, body = ErrorBody),
        (status = 503, description = "the processor is starting (`starting`, e.g. Cassandra does not answer)", body = ErrorBody),
    )
)]
pub async fn top_keys(
    state: web::Data<AdminState>,
    query: web::Query<TopQuery>,
) -> Result<web::Json<TopKeys>, ApiError> {
    let limit = query.limit.unwrap_or(DEFAULT_LIMIT);
    if limit == 0 || limit > MAX_LIMIT {
        return Err(ApiError::field(
            "limit",
            format!("{limit} is out of range 1..={MAX_LIMIT}"),
        ));
    }
    let mut keys = 0;
    let mut count = 0i64;
    let mut top = TopN::new(limit);
    for e in state.processor()?.totals.iter() {
        keys += 1;
        count = count.wrapping_add(e.value().total.count);
        top.offer(e.key(), e.value().total);
    }
    let top = top
        .into_sorted()
        .into_iter()
        .map(|(k, r)| RollupView::new(k.franchise_id, &k.event_name, &r))
        .collect();
    Ok(web::Json(TopKeys { keys, count, top }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use uuid::Uuid;

    fn key(n: u128, name: &str) -> Key {
        Key::new(Uuid::from_u128(n), name)
    }

    fn rollup(count: i64) -> Rollup {
        Rollup {
            count,
            values: None,
        }
    }

    fn top(entries: impl Iterator<Item = (Key, Rollup)>, limit: usize) -> Vec<(Key, Rollup)> {
        let mut t = TopN::new(limit);
        for (k, r) in entries {
            t.offer(&k, r);
        }
        t.into_sorted()
    }

    #[test]
    fn keeps_the_largest_counts_in_order_with_ties_by_key() {
        let entries = [
            (key(2, "b"), rollup(5)),
            (key(1, "z"), rollup(9)),
            (key(3, "a"), rollup(1)),
            (key(1, "a"), rollup(5)),
            (key(2, "a"), rollup(5)),
            (key(4, "q"), rollup(7)),
        ];
        let names = |v: Vec<(Key, Rollup)>| {
            v.into_iter()
                .map(|(k, r)| format!("{}{}:{}", k.franchise_id.as_u128(), k.event_name, r.count))
                .collect::<Vec<_>>()
        };
        let all = top(entries.iter().cloned(), 10);
        assert_eq!(names(all), ["1z:9", "4q:7", "1a:5", "2a:5", "2b:5", "3a:1"]);
        let three = top(entries.iter().cloned(), 3);
        assert_eq!(names(three), ["1z:9", "4q:7", "1a:5"]);
        // The same answer whatever the order of the scan.
        let reversed = top(entries.iter().rev().cloned(), 3);
        assert_eq!(names(reversed), ["1z:9", "4q:7", "1a:5"]);
    }
}
