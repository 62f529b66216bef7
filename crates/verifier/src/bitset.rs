//! A fixed-size bitset over sequence numbers, the verifier's O(N)-bits memory for N records.

/// One bit per index in `0..len`, stored in 64-bit words.
#[derive(Debug, Clone)]
pub(crate) struct Bitset {
    words: Vec<u64>,
    len: u64,
}

impl Bitset {
    /// An all-clear bitset over `0..len`.
    pub(crate) fn new(len: u64) -> Self {
        let words = usize::try_from(len.div_ceil(64)).expect("a bitset of this size fits in memory");
        Bitset { words: vec![0; words], len }
    }

    /// Sets bit `index` and tells whether it was clear before.
    ///
    /// Panics if `index` is outside `0..len`; callers check the range first.
    pub(crate) fn insert(&mut self, index: u64) -> bool {
        assert!(index < self.len, "bit {index} outside 0..{}", self.len);
        let word = &mut self.words[(index / 64) as usize];
        let mask = 1u64 << (index % 64);
        let was_clear = *word & mask == 0;
        *word |= mask;
        was_clear
    }

    /// Whether bit `index` is set; indices outside `0..len` are clear.
    pub(crate) fn contains(&self, index: u64) -> bool {
        index < self.len && self.words[(index / 64) as usize] & (1u64 << (index % 64)) != 0
    }

    /// Number of set bits.
    pub(crate) fn count_ones(&self) -> u64 {
        self.words.iter().map(|word| u64::from(word.count_ones())).sum()
    }

    /// Set indices in ascending order.
    pub(crate) fn ones(&self) -> impl Iterator<Item = u64> + '_ {
        self.select(|word| word)
    }

    /// Clear indices in `0..len` in ascending order.
    pub(crate) fn zeros(&self) -> impl Iterator<Item = u64> + '_ {
        self.select(|word| !word)
    }

    /// Indices whose bit is set in `pick(word)`, masked to `0..len`, whole words at a time.
    fn select(&self, pick: fn(u64) -> u64) -> impl Iterator<Item = u64> + '_ {
        let len = self.len;
        self.words.iter().enumerate().flat_map(move |(index, &word)| {
            let base = index as u64 * 64;
            let valid = if len - base >= 64 { u64::MAX } else { (1u64 << (len - base)) - 1 };
            let mut bits = pick(word) & valid;
            std::iter::from_fn(move || {
                if bits == 0 {
                    return None;
                }
                let bit = u64::from(bits.trailing_zeros());
                bits &= bits - 1;
                Some(base + bit)
            })
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn insert_reports_first_time_only_and_iterates_in_order() {
        let mut bits = Bitset::new(130);
        assert!(bits.insert(129));
        assert!(bits.insert(0));
        assert!(bits.insert(64));
        assert!(!bits.insert(64));
        assert!(bits.contains(64));
        assert!(!bits.contains(63));
        assert!(!bits.contains(1000));
        assert_eq!(bits.count_ones(), 3);
        assert_eq!(bits.ones().collect::<Vec<_>>(), vec![0, 64, 129]);
    }

    #[test]
    fn zeros_stop_at_len() {
        let mut bits = Bitset::new(66);
        for index in 0..66 {
            if index != 3 && index != 65 {
                bits.insert(index);
            }
        }
        assert_eq!(bits.zeros().collect::<Vec<_>>(), vec![3, 65]);
        assert_eq!(Bitset::new(0).zeros().count(), 0);
        assert_eq!(Bitset::new(64).zeros().count(), 64);
    }
}
