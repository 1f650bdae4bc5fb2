//! How many requests ran one after another, from when each arrived and was answered.

use std::time::Instant;

/// Returns the size of the longest chain of `(received, answered)` spans in which each span
/// starts at or after the end of the one before it: the number of round trips a client waited
/// for in turn. Overlapping spans (requests in parallel) count once.
pub fn sequential_depth(spans: &[(Instant, Instant)]) -> usize {
    // The largest set of pairwise non-overlapping intervals is such a chain; picking by
    // earliest end finds one of maximum size.
    let mut by_end = spans.to_vec();
    by_end.sort_by_key(|&(_, end)| end);
    let mut depth = 0;
    let mut last_end: Option<Instant> = None;
    for (start, end) in by_end {
        if last_end.is_none_or(|e| start >= e) {
            depth += 1;
            last_end = Some(end);
        }
    }
    depth
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn span(t0: Instant, from_ms: u64, to_ms: u64) -> (Instant, Instant) {
        (
            t0 + Duration::from_millis(from_ms),
            t0 + Duration::from_millis(to_ms),
        )
    }

    #[test]
    fn counts_requests_in_turn_once_each_and_parallel_ones_once() {
        let t0 = Instant::now();
        assert_eq!(sequential_depth(&[]), 0);
        // Three in turn.
        let serial = [span(t0, 0, 10), span(t0, 10, 20), span(t0, 25, 30)];
        assert_eq!(sequential_depth(&serial), 3);
        // Four in parallel, then one after them all, then two in parallel.
        let mixed = [
            span(t0, 0, 10),
            span(t0, 1, 12),
            span(t0, 2, 9),
            span(t0, 0, 11),
            span(t0, 12, 20),
            span(t0, 21, 30),
            span(t0, 22, 29),
        ];
        assert_eq!(sequential_depth(&mixed), 3);
        // A long request overlapping two short ones in turn does not hide them.
        let long = [span(t0, 0, 100), span(t0, 1, 10), span(t0, 11, 20)];
        assert_eq!(sequential_depth(&long), 2);
    }
}
