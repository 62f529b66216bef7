//! Records around a resharding: the transitions a run made (`[[workload.reshard]]`), and for each
//! phase (before the first, while the stream was UPDATING, between and after) how many records were
//! expected, delivered, lost and duplicated, so a loss or a copy is pinned to the transition it
//! happened in.
//!
//! Phases are seq ranges: the producer generates seqs in order, and the run read its counter when
//! each call was made and when the stream was ACTIVE again.

use serde::Serialize;

/// One resharding transition as the run carried it out.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Transition {
    /// The step as the scenario writes it (`shards = 4`).
    pub step: String,
    /// Open shards before and after it.
    pub open_before: usize,
    pub open_after: usize,
    /// How long the stream was UPDATING, in milliseconds of wall time.
    pub updating_ms: u64,
    /// The seqs generated while the stream was UPDATING: `first_seq..end_seq`.
    pub first_seq: u64,
    pub end_seq: u64,
    /// Put attempts the stream refused as throttled while it was UPDATING.
    pub throttled: u64,
}

/// The records of one phase, seqs `first_seq..end_seq`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PhaseCounts {
    /// `before shards = 4`, `during shards = 4`, `after shards = 4`.
    pub phase: String,
    pub first_seq: u64,
    pub end_seq: u64,
    /// Acknowledged records of the phase, which had to be delivered.
    pub expected: u64,
    pub delivered: u64,
    pub lost: u64,
    /// Records of the phase delivered more than once.
    pub duplicated: u64,
    /// First deliveries of the phase that came after a later record of their key.
    pub reordered: u64,
    /// Latency of the phase's first deliveries (send → visible), when it had any.
    pub latency_p50_ms: Option<u64>,
    pub latency_p99_ms: Option<u64>,
}

/// What the matcher measured per phase, numbered as [`phase_of`] does.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct PhaseMeasures {
    pub(crate) reordered: Vec<u64>,
    /// (p50, p99) latency in milliseconds per phase; `None` for a phase without first deliveries.
    pub(crate) latency_ms: Vec<Option<(u64, u64)>>,
}

/// The `resharding` section of a report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ReshardingSummary {
    pub transitions: Vec<Transition>,
    pub phases: Vec<PhaseCounts>,
}

/// What the matcher knows of one seq.
pub(crate) struct SeqFacts<'a> {
    /// The record was acknowledged and not accounted for otherwise (a transformation's drop).
    pub(crate) expected: &'a dyn Fn(u64) -> bool,
    pub(crate) delivered: &'a dyn Fn(u64) -> bool,
    pub(crate) duplicated: &'a dyn Fn(u64) -> bool,
}

impl ReshardingSummary {
    /// Splits seqs `0..generated` at the transitions, in order, and counts each phase;
    /// `measures` holds what the matcher measured per phase.
    pub(crate) fn new(
        transitions: &[Transition],
        generated: u64,
        facts: &SeqFacts<'_>,
        measures: &PhaseMeasures,
    ) -> ReshardingSummary {
        let mut phases = Vec::with_capacity(transitions.len() * 2 + 1);
        let mut start = 0;
        for transition in transitions {
            let first = transition.first_seq.clamp(start, generated);
            let end = transition.end_seq.clamp(first, generated);
            phases.push(count(format!("before {}", transition.step), start, first, facts));
            phases.push(count(format!("during {}", transition.step), first, end, facts));
            start = end;
        }
        if let Some(last) = transitions.last() {
            phases.push(count(format!("after {}", last.step), start, generated, facts));
        }
        // A phase between two steps is "after" the first and "before" the second: keep one name.
        for pair in 1..transitions.len() {
            let index = pair * 2;
            phases[index].phase =
                format!("after {}, before {}", transitions[pair - 1].step, transitions[pair].step);
        }
        for (phase, counts) in phases.iter_mut().enumerate() {
            counts.reordered = measures.reordered.get(phase).copied().unwrap_or(0);
            let latency = measures.latency_ms.get(phase).copied().flatten();
            counts.latency_p50_ms = latency.map(|(p50, _)| p50);
            counts.latency_p99_ms = latency.map(|(_, p99)| p99);
        }
        ReshardingSummary { transitions: transitions.to_vec(), phases }
    }

    /// One line per phase for the terminal summary.
    pub(crate) fn lines(&self) -> Vec<String> {
        let mut lines: Vec<String> = self
            .transitions
            .iter()
            .map(|t| {
                format!(
                    "reshard  {}: {} -> {} open shards, UPDATING {} ms, {} put attempts throttled meanwhile (seqs {}..{})",
                    t.step, t.open_before, t.open_after, t.updating_ms, t.throttled, t.first_seq, t.end_seq
                )
            })
            .collect();
        lines.extend(self.phases.iter().map(|p| {
            let latency = match (p.latency_p50_ms, p.latency_p99_ms) {
                (Some(p50), Some(p99)) => format!(", latency p50 {p50} ms p99 {p99} ms"),
                _ => String::new(),
            };
            format!(
                "         {}: {} expected, {} delivered, {} lost, {} duplicated, {} reordered{latency} (seqs {}..{})",
                p.phase, p.expected, p.delivered, p.lost, p.duplicated, p.reordered, p.first_seq, p.end_seq
            )
        }));
        lines
    }
}

/// The phase seq `seq` was sent in: 0 before the first transition, 1 during it, 2 after it (and
/// before the next), and so on.
pub(crate) fn phase_of(transitions: &[Transition], seq: u64) -> usize {
    transitions.iter().map(|t| usize::from(t.first_seq <= seq) + usize::from(t.end_seq <= seq)).sum()
}

fn count(phase: String, first_seq: u64, end_seq: u64, facts: &SeqFacts<'_>) -> PhaseCounts {
    let mut counts = PhaseCounts {
        phase,
        first_seq,
        end_seq,
        expected: 0,
        delivered: 0,
        lost: 0,
        duplicated: 0,
        reordered: 0,
        latency_p50_ms: None,
        latency_p99_ms: None,
    };
    for seq in first_seq..end_seq {
        let (expected, delivered) = ((facts.expected)(seq), (facts.delivered)(seq));
        counts.expected += u64::from(expected);
        counts.delivered += u64::from(delivered);
        counts.lost += u64::from(expected && !delivered);
        counts.duplicated += u64::from((facts.duplicated)(seq));
    }
    counts
}

#[cfg(test)]
mod tests {
    use super::*;

    fn transition(step: &str, first_seq: u64, end_seq: u64) -> Transition {
        Transition {
            step: step.to_owned(),
            open_before: 2,
            open_after: 4,
            updating_ms: 1000,
            first_seq,
            end_seq,
            throttled: 0,
        }
    }

    #[test]
    fn phases_split_the_seqs_at_each_transition_and_count_what_happened_in_each() {
        let transitions = [transition("shards = 4", 10, 15), transition("shards = 3", 30, 32)];
        let facts = SeqFacts {
            expected: &|seq| seq != 40,
            delivered: &|seq| seq != 12 && seq != 40 && seq != 31,
            duplicated: &|seq| seq == 20,
        };
        let measures =
            PhaseMeasures { reordered: vec![0, 0, 3], latency_ms: vec![Some((5, 9)), None, Some((7, 8))] };
        let summary = ReshardingSummary::new(&transitions, 50, &facts, &measures);
        assert_eq!(summary.phases[0].latency_p99_ms, Some(9));
        assert_eq!(summary.phases[1].latency_p50_ms, None);
        assert_eq!([0, 10, 14, 15, 31, 32].map(|seq| phase_of(&transitions, seq)), [0, 1, 1, 2, 3, 4]);
        let shape: Vec<(&str, u64, u64, u64, u64, u64, u64)> = summary
            .phases
            .iter()
            .map(|p| {
                (p.phase.as_str(), p.first_seq, p.end_seq, p.expected, p.lost, p.duplicated, p.reordered)
            })
            .collect();
        assert_eq!(
            shape,
            [
                ("before shards = 4", 0, 10, 10, 0, 0, 0),
                ("during shards = 4", 10, 15, 5, 1, 0, 0),
                ("after shards = 4, before shards = 3", 15, 30, 15, 0, 1, 3),
                ("during shards = 3", 30, 32, 2, 1, 0, 0),
                ("after shards = 3", 32, 50, 17, 0, 0, 0),
            ]
        );
        assert_eq!(summary.lines().len(), 7);
    }
}
