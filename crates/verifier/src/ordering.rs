//! Per-key ordering across objects, including objects whose delivery order S3 cannot tell apart.
//!
//! Delivery order is object order, then byte order inside an object. S3's LastModified has a
//! resolution of one second, so objects that became visible in the same second form a group whose
//! internal order is unknown. Such a group is ordered by the per-key constraints themselves: if a key
//! has a record in object A with a lower kseq than one of its records in object B, A must come before
//! B. Only when these constraints form a cycle can no order explain the delivery, and only then are
//! records of the group counted as reordered.
//!
//! Memory: per key, its highest kseq so far; per object of the open group, the kseqs of each key as
//! runs of consecutive values, which is one run per key and object when nothing is out of order.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};

use crate::findings::{MAX_EXAMPLES, ReorderedExample};

/// Tracks first deliveries per partition key and counts those that arrive after a higher kseq.
#[derive(Debug, Default)]
pub(crate) struct OrderChecker {
    /// Interned partition keys.
    ids: HashMap<String, u32>,
    names: Vec<String>,
    /// Highest kseq per key id over the groups already closed.
    highest: Vec<Option<u64>>,
    /// The visibility second of the open group.
    group: Option<u64>,
    /// The objects of the open group, in listing order.
    pending: Vec<PendingObject>,
    /// Reordered first deliveries of the closed groups, per phase (see [`OrderChecker::record`]).
    reordered_by_phase: Vec<u64>,
    examples: Vec<ReorderedExample>,
}

/// What the checker found: reordered first deliveries, in all and per phase, and the first examples.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct OrderOutcome {
    pub(crate) reordered: u64,
    /// Per phase (see [`OrderChecker::record`]), as long as the highest phase with one plus one.
    pub(crate) by_phase: Vec<u64>,
    pub(crate) examples: Vec<ReorderedExample>,
}

/// First deliveries of one object, per key as runs of consecutive kseqs in byte order.
#[derive(Debug)]
struct PendingObject {
    name: String,
    runs: HashMap<u32, Vec<Run>>,
}

/// Kseqs `start, start + 1, …, end`, delivered in that order, all of one phase.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Run {
    start: u64,
    end: u64,
    phase: usize,
}

/// What evaluating a group found.
#[derive(Debug, Default)]
struct Outcome {
    reordered_by_phase: Vec<u64>,
    examples: Vec<ReorderedExample>,
    /// The highest kseq per key id after the group.
    highest: Vec<(u32, u64)>,
}

impl OrderChecker {
    /// Starts an object that became visible in Unix second `second`; objects come in listing order.
    pub(crate) fn begin_object(&mut self, name: &str, second: u64) {
        if self.group != Some(second) {
            self.close_group();
            self.group = Some(second);
        }
        self.pending.push(PendingObject { name: name.to_owned(), runs: HashMap::new() });
    }

    /// Records the first delivery of `kseq` of `key` in the current object; `phase` numbers the
    /// part of the run the record was sent in (0 without resharding), for per-phase counts.
    pub(crate) fn record(&mut self, key: &str, kseq: u64, phase: usize) {
        let id = match self.ids.get(key) {
            Some(&id) => id,
            None => {
                let id = u32::try_from(self.names.len()).expect("fewer than 2^32 partition keys");
                self.ids.insert(key.to_owned(), id);
                self.names.push(key.to_owned());
                self.highest.push(None);
                id
            }
        };
        if self.pending.is_empty() {
            self.pending.push(PendingObject { name: String::new(), runs: HashMap::new() });
        }
        let object = self.pending.last_mut().expect("an object is open");
        let runs = object.runs.entry(id).or_default();
        match runs.last_mut() {
            Some(run) if run.end.checked_add(1) == Some(kseq) && run.phase == phase => run.end = kseq,
            _ => runs.push(Run { start: kseq, end: kseq, phase }),
        }
    }

    /// What was found, counting the open group as if it closed now.
    pub(crate) fn outcome(&self) -> OrderOutcome {
        let open = self.evaluate();
        let mut examples = self.examples.clone();
        examples.extend(open.examples.into_iter().take(MAX_EXAMPLES.saturating_sub(examples.len())));
        let by_phase = add_phases(self.reordered_by_phase.clone(), &open.reordered_by_phase);
        OrderOutcome { reordered: by_phase.iter().sum(), by_phase, examples }
    }

    fn close_group(&mut self) {
        if self.pending.is_empty() {
            return;
        }
        let outcome = self.evaluate();
        self.reordered_by_phase =
            add_phases(std::mem::take(&mut self.reordered_by_phase), &outcome.reordered_by_phase);
        let room = MAX_EXAMPLES.saturating_sub(self.examples.len());
        self.examples.extend(outcome.examples.into_iter().take(room));
        for (id, kseq) in outcome.highest {
            self.highest[id as usize] = Some(kseq);
        }
        self.pending.clear();
    }

    /// Orders the open group by its constraints and counts the first deliveries that break order.
    fn evaluate(&self) -> Outcome {
        let order = constrained_order(&self.pending);
        let mut highest: HashMap<u32, u64> = HashMap::new();
        let mut outcome = Outcome::default();
        for index in order {
            let object = &self.pending[index];
            for (&id, runs) in &object.runs {
                let before = highest.get(&id).copied().or(self.highest[id as usize]);
                let mut top = before;
                for run in runs {
                    if let Some(top) = top.filter(|&top| run.start < top) {
                        let below = run.end.min(top - 1) - run.start + 1;
                        if outcome.reordered_by_phase.len() <= run.phase {
                            outcome.reordered_by_phase.resize(run.phase + 1, 0);
                        }
                        outcome.reordered_by_phase[run.phase] += below;
                        if outcome.examples.len() < MAX_EXAMPLES {
                            outcome.examples.push(ReorderedExample {
                                key: self.names[id as usize].clone(),
                                kseq: run.start,
                                after_kseq: top,
                                object: object.name.clone(),
                            });
                        }
                    }
                    top = Some(top.map_or(run.end, |top| top.max(run.end)));
                }
                if let Some(top) = top {
                    highest.insert(id, top);
                }
            }
        }
        // Examples in listing order of their objects, then by key, so reports are stable.
        outcome.examples.sort_by(|a, b| {
            let position = |name: &str| self.pending.iter().position(|object| object.name == name);
            (position(&a.object), &a.key, a.kseq).cmp(&(position(&b.object), &b.key, b.kseq))
        });
        outcome.highest = highest.into_iter().collect();
        outcome
    }
}

/// `a + b`, phase by phase.
fn add_phases(mut a: Vec<u64>, b: &[u64]) -> Vec<u64> {
    if a.len() < b.len() {
        a.resize(b.len(), 0);
    }
    for (sum, add) in a.iter_mut().zip(b) {
        *sum += add;
    }
    a
}

/// An order of the group's objects that respects every per-key constraint that can be respected.
///
/// Object `a` must precede `b` when a key has a lower kseq in `a` than some kseq it has in `b`.
/// Objects on a cycle of such constraints (a strongly connected component) keep their listing
/// order among themselves; components are placed in topological order, earliest listed first.
fn constrained_order(objects: &[PendingObject]) -> Vec<usize> {
    let count = objects.len();
    if count <= 1 {
        return (0..count).collect();
    }
    // Per key, the (object, min, max) of its kseqs in each object that holds it.
    let mut spans: HashMap<u32, Vec<(usize, u64, u64)>> = HashMap::new();
    for (index, object) in objects.iter().enumerate() {
        for (&id, runs) in &object.runs {
            let min = runs.iter().map(|run| run.start).min().unwrap_or(0);
            let max = runs.iter().map(|run| run.end).max().unwrap_or(0);
            spans.entry(id).or_default().push((index, min, max));
        }
    }
    let mut edges = vec![vec![false; count]; count];
    for holders in spans.values() {
        for &(a, min_a, _) in holders {
            for &(b, _, max_b) in holders {
                if a != b && min_a < max_b {
                    edges[a][b] = true;
                }
            }
        }
    }
    let successors: Vec<Vec<usize>> =
        edges.iter().map(|row| (0..count).filter(|&to| row[to]).collect()).collect();
    let component = strongly_connected(&successors);
    let components = component.iter().max().map_or(0, |max| max + 1);

    // Kahn's algorithm over the components, smallest listing index first among the ready ones.
    let mut members: Vec<Vec<usize>> = vec![Vec::new(); components];
    for (index, &c) in component.iter().enumerate() {
        members[c].push(index);
    }
    let mut indegree = vec![0usize; components];
    let mut component_edges: Vec<Vec<usize>> = vec![Vec::new(); components];
    for (from, targets) in successors.iter().enumerate() {
        for &to in targets {
            let (a, b) = (component[from], component[to]);
            if a != b && !component_edges[a].contains(&b) {
                component_edges[a].push(b);
                indegree[b] += 1;
            }
        }
    }
    let mut ready: BinaryHeap<Reverse<(usize, usize)>> =
        (0..components).filter(|&c| indegree[c] == 0).map(|c| Reverse((members[c][0], c))).collect();
    let mut order = Vec::with_capacity(count);
    while let Some(Reverse((_, c))) = ready.pop() {
        order.extend(&members[c]);
        for &next in &component_edges[c] {
            indegree[next] -= 1;
            if indegree[next] == 0 {
                ready.push(Reverse((members[next][0], next)));
            }
        }
    }
    order
}

/// The strongly connected component of every node (Kosaraju's algorithm, without recursion).
fn strongly_connected(successors: &[Vec<usize>]) -> Vec<usize> {
    let count = successors.len();
    // First pass: nodes in order of finishing a depth-first search.
    let mut visited = vec![false; count];
    let mut finished = Vec::with_capacity(count);
    for root in 0..count {
        if visited[root] {
            continue;
        }
        visited[root] = true;
        let mut stack = vec![(root, 0usize)];
        while let Some((node, next)) = stack.last_mut() {
            if let Some(&to) = successors[*node].get(*next) {
                *next += 1;
                if !visited[to] {
                    visited[to] = true;
                    stack.push((to, 0));
                }
            } else {
                finished.push(*node);
                stack.pop();
            }
        }
    }
    // Second pass: on the reversed graph, in reverse finishing order.
    let mut predecessors = vec![Vec::new(); count];
    for (from, targets) in successors.iter().enumerate() {
        for &to in targets {
            predecessors[to].push(from);
        }
    }
    let mut component = vec![usize::MAX; count];
    let mut components = 0;
    for &root in finished.iter().rev() {
        if component[root] != usize::MAX {
            continue;
        }
        component[root] = components;
        let mut stack = vec![root];
        while let Some(node) = stack.pop() {
            for &from in &predecessors[node] {
                if component[from] == usize::MAX {
                    component[from] = components;
                    stack.push(from);
                }
            }
        }
        components += 1;
    }
    component
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    /// Feeds objects of `(key, kseq)` first deliveries, each with its visibility second.
    fn check(objects: &[(u64, &[(&str, u64)])]) -> (u64, Vec<ReorderedExample>) {
        let mut checker = OrderChecker::default();
        for (index, (second, records)) in objects.iter().enumerate() {
            checker.begin_object(&format!("o{index}"), *second);
            for (key, kseq) in records.iter() {
                checker.record(key, *kseq, 0);
            }
        }
        let outcome = checker.outcome();
        (outcome.reordered, outcome.examples)
    }

    #[test]
    fn in_order_delivery_is_not_reordered() {
        assert_eq!(check(&[(1, &[("a", 0), ("b", 0), ("a", 1)]), (2, &[("a", 2), ("b", 1)])]).0, 0);
    }

    #[test]
    fn objects_of_different_seconds_keep_their_order() {
        let (reordered, examples) = check(&[(1, &[("a", 0), ("a", 2)]), (2, &[("a", 1)])]);
        assert_eq!(reordered, 1);
        assert_eq!(
            examples,
            vec![ReorderedExample { key: "a".into(), kseq: 1, after_kseq: 2, object: "o1".into() }]
        );
    }

    #[test]
    fn same_second_objects_listed_in_the_wrong_order_are_not_reordered() {
        // Listed by key, o0 before o1, though o1 holds the earlier records of both keys.
        let objects: &[(u64, &[(&str, u64)])] =
            &[(7, &[("a", 2), ("a", 3), ("b", 5)]), (7, &[("a", 0), ("a", 1), ("b", 4)])];
        assert_eq!(check(objects).0, 0);
        // A later object still has to come after everything in the group.
        let mut later = objects.to_vec();
        later.push((8, &[("a", 4)]));
        assert_eq!(check(&later).0, 0);
        later.pop();
        later.push((8, &[("b", 3)]));
        let (reordered, examples) = check(&later);
        assert_eq!(reordered, 1);
        assert_eq!(examples[0].after_kseq, 5);
    }

    #[test]
    fn a_cycle_of_constraints_in_one_second_is_a_reordering() {
        // Key a says o0 before o1; key b says o1 before o0: no order explains both.
        let (reordered, examples) = check(&[(7, &[("a", 0), ("b", 1)]), (7, &[("a", 1), ("b", 0)])]);
        assert_eq!(reordered, 1);
        assert_eq!(
            examples,
            vec![ReorderedExample { key: "b".into(), kseq: 0, after_kseq: 1, object: "o1".into() }]
        );
    }

    #[test]
    fn interleaved_kseqs_of_one_key_in_one_second_are_a_reordering() {
        assert_eq!(check(&[(7, &[("a", 0), ("a", 2)]), (7, &[("a", 1), ("a", 3)])]).0, 1);
    }

    #[test]
    fn a_cycle_through_three_objects_is_found() {
        let objects: &[(u64, &[(&str, u64)])] =
            &[(9, &[("a", 0), ("c", 1)]), (9, &[("a", 1), ("b", 0)]), (9, &[("b", 1), ("c", 0)])];
        assert_eq!(check(objects).0, 1);
        // Without the closing constraint the three can be ordered.
        let acyclic: &[(u64, &[(&str, u64)])] =
            &[(9, &[("b", 1), ("c", 1)]), (9, &[("a", 1), ("b", 0)]), (9, &[("a", 0), ("c", 0)])];
        assert_eq!(check(acyclic).0, 0);
    }

    #[test]
    fn descending_kseqs_inside_one_object_are_always_reordered() {
        assert_eq!(check(&[(1, &[("a", 5), ("a", 3), ("a", 4), ("a", 6)])]).0, 2);
    }

    #[test]
    fn runs_count_every_record_below_the_highest() {
        // Kseqs 10..=19 first, then 0..=9 and 20: all of 0..=9 come after a higher kseq.
        let mut checker = OrderChecker::default();
        checker.begin_object("o0", 1);
        (10..20).chain(0..10).chain([20]).for_each(|kseq| checker.record("a", kseq, 0));
        assert_eq!(checker.outcome().reordered, 10);
    }

    /// A naive reference: every first delivery below the key's running maximum, in a given order.
    fn naive(objects: &[Vec<(u8, u64)>], order: &[usize]) -> u64 {
        let mut highest: HashMap<u8, u64> = HashMap::new();
        let mut reordered = 0;
        for &index in order {
            for &(key, kseq) in &objects[index] {
                match highest.get_mut(&key) {
                    Some(top) if kseq < *top => reordered += 1,
                    Some(top) => *top = kseq,
                    None => {
                        highest.insert(key, kseq);
                    }
                }
            }
        }
        reordered
    }

    fn permutations(items: Vec<usize>) -> Vec<Vec<usize>> {
        if items.len() <= 1 {
            return vec![items];
        }
        let mut all = Vec::new();
        for index in 0..items.len() {
            let mut rest = items.clone();
            let first = rest.remove(index);
            for mut tail in permutations(rest) {
                tail.insert(0, first);
                all.push(tail);
            }
        }
        all
    }

    proptest! {
        /// One second's objects: reordering is found exactly when no order of the objects is free of it.
        #[test]
        fn a_group_is_reordered_exactly_when_no_object_order_explains_it(
            kseqs in proptest::collection::vec(0usize..4, 1..12),
            keys in proptest::collection::vec(0u8..3, 12),
        ) {
            // Each key's kseqs 0, 1, 2, … are spread over up to four objects.
            let mut next = [0u64; 3];
            let mut objects: Vec<Vec<(u8, u64)>> = vec![Vec::new(); 4];
            for (index, &object) in kseqs.iter().enumerate() {
                let key = keys[index];
                objects[object].push((key, next[key as usize]));
                next[key as usize] += 1;
            }
            let objects: Vec<Vec<(u8, u64)>> = objects.into_iter().filter(|records| !records.is_empty()).collect();
            let mut checker = OrderChecker::default();
            for (index, records) in objects.iter().enumerate() {
                checker.begin_object(&format!("o{index}"), 42);
                for &(key, kseq) in records {
                    checker.record(&key.to_string(), kseq, 0);
                }
            }
            let explained = permutations((0..objects.len()).collect()).iter().any(|order| naive(&objects, order) == 0);
            let reordered = checker.outcome().reordered;
            prop_assert_eq!(reordered == 0, explained, "{:?}", objects);
        }
    }

    #[test]
    fn reorderings_are_counted_in_the_phase_their_records_were_sent_in() {
        let mut checker = OrderChecker::default();
        checker.begin_object("a", 1);
        // Key "k": kseqs 0..4 in phase 0, 5..9 in phase 1; 2 and 3 arrive last, in phase 0.
        for kseq in [0, 1, 4] {
            checker.record("k", kseq, 0);
        }
        for kseq in 5..10 {
            checker.record("k", kseq, 1);
        }
        checker.begin_object("b", 2);
        for kseq in [2, 3] {
            checker.record("k", kseq, 0);
        }
        assert_eq!(checker.outcome().reordered, 2);
        assert_eq!(checker.outcome().by_phase, [2]);
        checker.begin_object("c", 3);
        checker.record("j", 1, 2);
        checker.record("j", 0, 2);
        assert_eq!(checker.outcome().by_phase, [2, 0, 1]);
    }
}
