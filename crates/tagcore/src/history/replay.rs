//! The replay of a timeline: promotions push, a rollback pops back to its target's digest (or,
//! rolling forward to a release an earlier rollback undid, puts it back on top); and the orders
//! a tie group allows.

use super::{Event, EventKind, HistoryError};
use crate::Digest;

pub(super) struct Replay {
    pub(super) stack: Vec<usize>,
    pub(super) undone: Vec<usize>,
    /// True when a rollback found no promotion of its target on the stack: older events might
    /// have held it.
    pub(super) underflow: bool,
    /// False when the order is impossible: a rollback to the digest prod already had (tagcli
    /// refuses those, and a re-run reuses its audit tag rather than writing another).
    pub(super) valid: bool,
}

impl Replay {
    pub(super) fn previous(&self, events: &[Event], current: &Digest) -> Result<usize, HistoryError> {
        // An order explains prod only if its replay ends with prod's digest on top: a digest
        // buried lower in the stack would mean prod moved back there without a record.
        let top = self
            .stack
            .len()
            .checked_sub(1)
            .filter(|&top| self.valid && &events[self.stack[top]].digest == current);
        let top = top.ok_or_else(|| HistoryError::CurrentUnknown {
            current: current.clone(),
        })?;
        self.stack[..top]
            .iter()
            .rev()
            .copied()
            .find(|&i| &events[i].digest != current)
            .ok_or_else(|| HistoryError::NoPrevious {
                current: current.clone(),
            })
    }
}

/// Replays events in `order`: promotions push, a rollback pops back to its target's digest, or
/// puts back on top the undone promotion of that digest (a rollback forward).
pub(super) fn replay(events: &[Event], order: &[usize]) -> Replay {
    let mut stack: Vec<usize> = Vec::new();
    let mut undone = Vec::new();
    let mut valid = true;
    let mut underflow = false;
    for &i in order {
        match events[i].kind {
            EventKind::Promotion => stack.push(i),
            EventKind::Rollback { .. } => {
                if stack
                    .last()
                    .is_some_and(|&top| events[top].digest == events[i].digest)
                {
                    valid = false;
                }
                let digest = &events[i].digest;
                if let Some(pos) = stack.iter().rposition(|&j| &events[j].digest == digest) {
                    undone.extend(stack.drain(pos + 1..));
                } else if let Some(pos) = undone.iter().rposition(|&j| &events[j].digest == digest) {
                    // A rollback forward to a release an earlier rollback undid: that release
                    // is prod again, on top of what was below it.
                    stack.push(undone.remove(pos));
                } else {
                    underflow = true;
                    undone.append(&mut stack);
                }
            }
        }
    }
    Replay {
        stack,
        undone,
        underflow,
        valid,
    }
}

/// Returns every order of `range`, in lexicographic order of positions.
pub(super) fn permutations(range: std::ops::Range<usize>) -> Vec<Vec<usize>> {
    fn of(items: &[usize]) -> Vec<Vec<usize>> {
        if items.len() <= 1 {
            return vec![items.to_vec()];
        }
        (0..items.len())
            .flat_map(|i| {
                let mut rest = items.to_vec();
                let first = rest.remove(i);
                of(&rest).into_iter().map(move |mut p| {
                    p.insert(0, first);
                    p
                })
            })
            .collect()
    }
    of(&range.collect::<Vec<_>>())
}
