//! Airplane's lists (`sessions/list`, `runs/list`) read in full: no total and no cursor, so pages
//! are read until a short one; and whether `page` counts pages or items is not documented (the
//! spec's open question 6), so the second page tells: when most of its rows were already on the
//! first, `page` is an item offset. Rows are kept once each, by id, whichever way it is read.

use std::collections::BTreeMap;

use porthole_core::{Error, ErrorCode};

use crate::http::HttpClient;

/// Rows per page: the API's most (and default).
pub const PAGE: usize = 50;

/// At most this many pages in one read (a server whose paging never ends stops here).
const MAX_PAGES: usize = 400;

/// How the server reads `page`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Paging {
    /// Page N holds rows N×limit…
    Index,
    /// `page` is the first row's offset.
    Offset,
}

fn id_of(row: &serde_json::Value) -> Option<&str> {
    row.get("id").and_then(|i| i.as_str())
}

/// Whether the second page repeats the first (an offset of one row): most of its ids were seen.
pub fn paging_of(first: &[serde_json::Value], second: &[serde_json::Value]) -> Paging {
    let repeated = second
        .iter()
        .filter_map(id_of)
        .filter(|id| first.iter().any(|r| id_of(r) == Some(id)))
        .count();
    if repeated * 2 > second.len() {
        Paging::Offset
    } else {
        Paging::Index
    }
}

/// Every row of `path` (under `field` of its answer) with these filters, each once, newest
/// first as the server ordered them. A row without an id cannot be told from another: dropped
/// with a note in the log.
pub async fn read_all(
    api: &HttpClient,
    path: &str,
    field: &str,
    filters: &[(&str, &str)],
) -> Result<Vec<serde_json::Value>, Error> {
    let limit = PAGE.to_string();
    let page = |n: usize| {
        let n = n.to_string();
        let mut query: Vec<(&str, String)> = vec![("limit", limit.clone()), ("page", n)];
        query.extend(filters.iter().map(|(k, v)| (*k, (*v).to_owned())));
        async move {
            let query: Vec<(&str, &str)> = query.iter().map(|(k, v)| (*k, v.as_str())).collect();
            let answer: serde_json::Value = api
                .get_json(path, &query, false)
                .await
                .map_err(|e| super::api_error(e, ErrorCode::InvalidResponse))?;
            match answer.get(field) {
                None | Some(serde_json::Value::Null) => Ok(Vec::new()),
                Some(serde_json::Value::Array(rows)) => Ok(rows.clone()),
                Some(_) => Err(Error::new(
                    ErrorCode::InvalidResponse,
                    format!("Airplane's {path} answer has no list of {field}."),
                )),
            }
        }
    };
    let mut order: Vec<String> = Vec::new();
    let mut rows: BTreeMap<String, serde_json::Value> = BTreeMap::new();
    // Keeps a page's rows; how many were new.
    let mut keep = |page: &[serde_json::Value]| {
        let mut new = 0;
        for row in page {
            match id_of(row) {
                Some(id) => {
                    if rows.insert(id.to_owned(), row.clone()).is_none() {
                        order.push(id.to_owned());
                        new += 1;
                    }
                }
                None => tracing::debug!("an Airplane {field} row without an id: skipped"),
            }
        }
        new
    };
    let first = page(0).await?;
    keep(&first);
    if first.len() >= PAGE {
        let second = page(1).await?;
        let mut new = keep(&second);
        let paging = paging_of(&first, &second);
        let mut last = second.len();
        let mut n = 1;
        // Until a short page; or a page with nothing new (a server that ignores `page`).
        while last >= PAGE && new > 0 && n < MAX_PAGES {
            n += 1;
            let rows = page(match paging {
                Paging::Index => n,
                Paging::Offset => n * PAGE - (PAGE - 1),
            })
            .await?;
            new = keep(&rows);
            last = rows.len();
        }
        if last >= PAGE && n >= MAX_PAGES {
            tracing::warn!(
                "Airplane's {path} still had rows after {MAX_PAGES} pages: read no further"
            );
        }
    }
    Ok(order
        .into_iter()
        .filter_map(|id| rows.remove(&id))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn rows(ids: std::ops::Range<usize>) -> Vec<serde_json::Value> {
        ids.map(|i| json!({ "id": format!("ses{i}") })).collect()
    }

    #[test]
    fn the_second_page_tells_how_the_server_reads_page() {
        assert_eq!(paging_of(&rows(0..50), &rows(1..51)), Paging::Offset);
        assert_eq!(paging_of(&rows(0..50), &rows(50..100)), Paging::Index);
        // A session created between the two reads shifts an index page by one row only.
        assert_eq!(paging_of(&rows(0..50), &rows(49..99)), Paging::Index);
        assert_eq!(paging_of(&rows(0..50), &[]), Paging::Index);
    }
}
