//! A stream's shard lineage: every shard it has had, which are open, the hash-key range each covers,
//! and how SplitShard, MergeShards and UpdateShardCount's uniform scaling change them.
//!
//! Shards are numbered in creation order and never renumbered, so a child always has a higher index
//! than its parents, and a shard's id (`shardId-000000000007`) is its index. Closed shards stay in
//! the lineage: "the parent shards remain readable until the retention period ends" ("Resharding a
//! stream", Kinesis Data Streams Developer Guide).

use vocabulary::HashKeyRange;

use crate::error::ApiError;

/// The shard id AWS gives the shard with this index: `shardId-` and 12 digits.
pub(crate) fn shard_id(index: usize) -> String {
    format!("shardId-{index:012}")
}

/// The index a shard id names, whether or not a stream has that shard.
pub(crate) fn shard_number(shard_id: &str) -> Option<usize> {
    shard_id.strip_prefix("shardId-").filter(|digits| digits.len() == 12)?.parse().ok()
}

/// A resharding call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Reshard {
    Split {
        shard: usize,
        at: u128,
    },
    Merge {
        shard: usize,
        adjacent: usize,
    },
    /// UpdateShardCount with UNIFORM_SCALING.
    Uniform {
        target: usize,
    },
}

/// One shard of the lineage.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ShardInfo {
    pub(crate) range: HashKeyRange,
    /// The shard split, or the `ShardToMerge` of a merge.
    pub(crate) parent: Option<usize>,
    /// The `AdjacentShardToMerge` of a merge.
    pub(crate) adjacent_parent: Option<usize>,
    /// When the shard opened, in emulator milliseconds since the Unix epoch.
    pub(crate) opened_ms: i64,
    /// Set when a split or merge closed the shard.
    pub(crate) closed: Option<Closed>,
    /// The shards a split or merge of this one opened, in index order.
    pub(crate) children: Vec<usize>,
}

impl ShardInfo {
    /// The shard's parents, `ParentShardId` first.
    pub(crate) fn parents(&self) -> impl Iterator<Item = usize> + '_ {
        self.parent.into_iter().chain(self.adjacent_parent)
    }
}

/// How a shard closed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Closed {
    /// When, in emulator milliseconds since the Unix epoch.
    pub(crate) at_ms: i64,
    /// The counter of the shard's `EndingSequenceNumber`: no record has a higher one.
    pub(crate) last_counter: u64,
}

/// One resharding action on open shards.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Step {
    /// SplitShard: `shard` closes; its children cover `[start, at - 1]` and `[at, end]`.
    Split { shard: usize, at: u128 },
    /// MergeShards: `shard` and `adjacent` close; their child covers both ranges.
    Merge { shard: usize, adjacent: usize },
}

impl Step {
    /// The open shards the step closes.
    pub(crate) fn closes(&self) -> impl Iterator<Item = usize> {
        match *self {
            Step::Split { shard, .. } => [Some(shard), None],
            Step::Merge { shard, adjacent } => [Some(shard), Some(adjacent)],
        }
        .into_iter()
        .flatten()
    }
}

/// Every shard a stream has had, and which of them are open.
#[derive(Debug, Clone)]
pub(crate) struct Lineage {
    shards: Vec<ShardInfo>,
    /// The open shards, ordered by the start of their hash-key ranges, which together cover the
    /// whole hash-key space without overlap.
    open: Vec<usize>,
}

impl Lineage {
    /// The `count` shards of a new stream, splitting the hash-key space evenly, opened at `now_ms`.
    pub(crate) fn new(count: usize, now_ms: i64) -> Lineage {
        let shards = vocabulary::split_hash_key_space(count)
            .into_iter()
            .map(|range| ShardInfo {
                range,
                parent: None,
                adjacent_parent: None,
                opened_ms: now_ms,
                closed: None,
                children: Vec::new(),
            })
            .collect();
        Lineage { shards, open: (0..count).collect() }
    }

    /// Every shard, in index order.
    pub(crate) fn shards(&self) -> &[ShardInfo] {
        &self.shards
    }

    /// The open shards, in hash-key order.
    pub(crate) fn open(&self) -> &[usize] {
        &self.open
    }

    /// The open shard whose range holds `hash`.
    pub(crate) fn route(&self, hash: u128) -> usize {
        let at = self.open.partition_point(|&shard| self.shards[shard].range.start <= hash);
        self.open[at.saturating_sub(1)]
    }

    /// Applies `step` at `now_ms`; `last_counter` gives a closing shard's last counter. Returns the
    /// indexes of the shards it opened. The step must name open shards (and, for a merge, adjacent
    /// ones, for a split a key strictly inside the range): callers check that first.
    pub(crate) fn apply(
        &mut self,
        step: Step,
        now_ms: i64,
        last_counter: impl Fn(usize) -> u64,
    ) -> Vec<usize> {
        let first = self.shards.len();
        let opened = match step {
            Step::Split { shard, at } => {
                let range = self.shards[shard].range;
                vec![
                    (HashKeyRange { start: range.start, end: at - 1 }, Some(shard), None),
                    (HashKeyRange { start: at, end: range.end }, Some(shard), None),
                ]
            }
            Step::Merge { shard, adjacent } => {
                let (a, b) = (self.shards[shard].range, self.shards[adjacent].range);
                let range = HashKeyRange { start: a.start.min(b.start), end: a.end.max(b.end) };
                vec![(range, Some(shard), Some(adjacent))]
            }
        };
        let children: Vec<usize> = (first..first + opened.len()).collect();
        for closing in step.closes() {
            let info = &mut self.shards[closing];
            info.closed = Some(Closed { at_ms: now_ms, last_counter: last_counter(closing) });
            info.children.clone_from(&children);
        }
        for (range, parent, adjacent_parent) in opened {
            self.shards.push(ShardInfo {
                range,
                parent,
                adjacent_parent,
                opened_ms: now_ms,
                closed: None,
                children: Vec::new(),
            });
        }
        let shards = &self.shards;
        self.open.retain(|&shard| shards[shard].closed.is_none());
        self.open.extend(&children);
        self.open.sort_by_key(|&shard| shards[shard].range.start);
        children
    }

    /// The steps of a resharding call, checked against the open shards and the per-call limits:
    /// errors name `stream` and `account_id` as AWS's messages do.
    pub(crate) fn plan(
        &self,
        request: Reshard,
        stream: &str,
        account_id: &str,
    ) -> Result<Vec<Step>, ApiError> {
        let open = self.open().len();
        let eligible = |shard: usize| -> Result<(), ApiError> {
            if self.shards()[shard].closed.is_some() {
                return Err(ApiError::invalid_argument(format!(
                    "Shard {} in stream {} under account {account_id} has already been merged or split, and \
                     thus is not eligible for merging or splitting.",
                    shard_id(shard),
                    stream
                )));
            }
            Ok(())
        };
        let steps = match request {
            Reshard::Split { shard, at } => {
                eligible(shard)?;
                let range = self.shards()[shard].range;
                // kinesis-mock and moto agree with AWS's wording: the key must be above start + 1
                // and below the shard's ending hash key.
                if at <= range.start.saturating_add(1) || at >= range.end {
                    return Err(ApiError::invalid_argument(format!(
                        "NewStartingHashKey {at} used in SplitShard() on shard {} in stream {} under account \
                     {account_id} is not both greater than one plus the shard's StartingHashKey {} and less \
                     than the shard's EndingHashKey {}.",
                        shard_id(shard),
                        stream,
                        range.start,
                        range.end
                    )));
                }
                vec![Step::Split { shard, at }]
            }
            Reshard::Merge { shard, adjacent } => {
                eligible(shard)?;
                eligible(adjacent)?;
                let shards = self.shards();
                if shard == adjacent || !self::adjacent(shards[shard].range, shards[adjacent].range) {
                    return Err(ApiError::invalid_argument(format!(
                        "Shards {} and {} in stream {} under account {account_id} are not an adjacent pair of \
                     shards eligible for merging",
                        shard_id(shard),
                        shard_id(adjacent),
                        stream
                    )));
                }
                vec![Step::Merge { shard, adjacent }]
            }
            Reshard::Uniform { target } => {
                let limit = |message: String| ApiError::bad_request("LimitExceededException", message);
                if target > open * 2 {
                    return Err(limit(format!(
                        "UpdateShardCount cannot scale up over double your current open shard count. Current \
                     open shard count: {open} Target shard count: {target}"
                    )));
                }
                if target * 2 < open {
                    return Err(limit(format!(
                        "UpdateShardCount cannot scale down below half your current open shard count. Current \
                     open shard count: {open} Target shard count: {target}"
                    )));
                }
                self.uniform_scaling(target)
            }
        };
        Ok(steps)
    }

    /// The splits and merges that take the open shards to `target` shards of equal size, as
    /// UpdateShardCount's UNIFORM_SCALING does: "Kinesis Data Streams performs splits or merges on
    /// individual shards. This can cause short-lived shards to be created, in addition to the final
    /// shards" (UpdateShardCount, Kinesis API Reference).
    ///
    /// First every boundary of the target layout that falls inside an open shard splits it; then
    /// every boundary the target layout does not have is merged away, left to right. Each step names
    /// the shard indexes it will have when the steps are applied in order.
    pub(crate) fn uniform_scaling(&self, target: usize) -> Vec<Step> {
        let wanted: Vec<u128> =
            vocabulary::split_hash_key_space(target).iter().skip(1).map(|range| range.start).collect();
        let mut layout: Vec<(usize, HashKeyRange)> =
            self.open.iter().map(|&shard| (shard, self.shards[shard].range)).collect();
        let mut next = self.shards.len();
        let mut steps = Vec::new();
        for &at in &wanted {
            let Some(position) = layout.iter().position(|(_, range)| range.start < at && at <= range.end)
            else {
                continue;
            };
            let (shard, range) = layout[position];
            steps.push(Step::Split { shard, at });
            layout.splice(
                position..=position,
                [
                    (next, HashKeyRange { start: range.start, end: at - 1 }),
                    (next + 1, HashKeyRange { start: at, end: range.end }),
                ],
            );
            next += 2;
        }
        let mut position = 1;
        while position < layout.len() {
            if wanted.binary_search(&layout[position].1.start).is_ok() {
                position += 1;
                continue;
            }
            let ((shard, left), (adjacent, right)) = (layout[position - 1], layout[position]);
            steps.push(Step::Merge { shard, adjacent });
            layout.splice(
                position - 1..=position,
                [(next, HashKeyRange { start: left.start, end: right.end })],
            );
            next += 1;
        }
        steps
    }
}

/// Whether two ranges together cover one contiguous range with no gap: "two shards are considered
/// adjacent if the union of the hash key ranges for the two shards form a contiguous set with no
/// gaps" (MergeShards, Kinesis API Reference).
pub(crate) fn adjacent(a: HashKeyRange, b: HashKeyRange) -> bool {
    a.end.checked_add(1) == Some(b.start) || b.end.checked_add(1) == Some(a.start)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn applied(mut lineage: Lineage, steps: &[Step]) -> Lineage {
        for &step in steps {
            lineage.apply(step, 10, |_| 0);
        }
        lineage
    }

    fn open_ranges(lineage: &Lineage) -> Vec<HashKeyRange> {
        lineage.open().iter().map(|&shard| lineage.shards()[shard].range).collect()
    }

    #[test]
    fn a_split_closes_the_parent_and_opens_two_children_that_cover_it() {
        let mut lineage = Lineage::new(2, 0);
        let parent = lineage.shards()[0].range;
        let at = parent.end / 2;
        let children = lineage.apply(Step::Split { shard: 0, at }, 7, |_| 41);
        assert_eq!(children, [2, 3]);
        let shards = lineage.shards();
        assert_eq!(shards[0].closed, Some(Closed { at_ms: 7, last_counter: 41 }));
        assert_eq!(shards[0].children, [2, 3]);
        assert_eq!(shards[2].range, HashKeyRange { start: 0, end: at - 1 });
        assert_eq!(shards[3].range, HashKeyRange { start: at, end: parent.end });
        assert_eq!((shards[2].parent, shards[2].adjacent_parent), (Some(0), None));
        assert_eq!(shards[3].opened_ms, 7);
        assert_eq!(lineage.open(), [2, 3, 1]);
        assert_eq!(lineage.route(0), 2);
        assert_eq!(lineage.route(at), 3);
        assert_eq!(lineage.route(u128::MAX), 1);
    }

    #[test]
    fn a_merge_records_both_parents_and_covers_their_union() {
        let mut lineage = Lineage::new(3, 0);
        let children = lineage.apply(Step::Merge { shard: 2, adjacent: 1 }, 5, |shard| shard as u64);
        assert_eq!(children, [3]);
        let merged = &lineage.shards()[3];
        assert_eq!((merged.parent, merged.adjacent_parent), (Some(2), Some(1)));
        assert_eq!(merged.range.start, lineage.shards()[1].range.start);
        assert_eq!(merged.range.end, u128::MAX);
        assert_eq!(lineage.shards()[1].closed.map(|c| c.last_counter), Some(1));
        assert_eq!(lineage.open(), [0, 3]);
    }

    #[test]
    fn uniform_scaling_reaches_the_even_layout_of_the_target() {
        for (from, to) in [(2, 4), (4, 3), (4, 2), (3, 5), (5, 3), (1, 2), (6, 6), (7, 4)] {
            let lineage = Lineage::new(from, 0);
            let steps = lineage.uniform_scaling(to);
            let after = applied(lineage, &steps);
            assert_eq!(open_ranges(&after), vocabulary::split_hash_key_space(to), "{from} -> {to}");
        }
    }

    #[test]
    fn doubling_splits_every_shard_once_and_nothing_else() {
        let steps = Lineage::new(2, 0).uniform_scaling(4);
        assert_eq!(steps.len(), 2);
        assert!(steps.iter().all(|step| matches!(step, Step::Split { .. })));
        let after = applied(Lineage::new(2, 0), &steps);
        assert_eq!(after.shards().len(), 6, "no short-lived shards");
    }

    #[test]
    fn four_to_three_passes_through_short_lived_shards_that_close_at_once() {
        let lineage = Lineage::new(4, 0);
        let steps = lineage.uniform_scaling(3);
        let after = applied(lineage, &steps);
        assert_eq!(after.open().len(), 3);
        for shard in after.shards() {
            // Every child's parents covered its range between them: nothing of the space is orphaned.
            let parents: Vec<HashKeyRange> = shard.parents().map(|p| after.shards()[p].range).collect();
            if !parents.is_empty() {
                let start = parents.iter().map(|r| r.start).min().unwrap();
                let end = parents.iter().map(|r| r.end).max().unwrap();
                assert!(start <= shard.range.start && shard.range.end <= end, "{shard:?}");
            }
        }
        let short_lived = after.shards().iter().filter(|s| s.parent.is_some() && s.closed.is_some()).count();
        assert!(short_lived > 0, "4 -> 3 needs intermediate shards");
    }

    #[test]
    fn adjacency_needs_touching_ranges() {
        let ranges = vocabulary::split_hash_key_space(3);
        assert!(adjacent(ranges[0], ranges[1]));
        assert!(adjacent(ranges[2], ranges[1]));
        assert!(!adjacent(ranges[0], ranges[2]));
    }
}
