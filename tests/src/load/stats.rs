//! Percentiles of recorded durations, as the load reports print them.

use serde::Serialize;

/// Order statistics of a sample, in milliseconds.
#[derive(Debug, Clone, Copy, Default, Serialize)]
pub struct Summary {
    pub count: usize,
    pub p50: f64,
    pub p90: f64,
    pub p99: f64,
    pub max: f64,
}

impl Summary {
    /// Summarises durations given in microseconds.
    pub fn of_micros(mut sample: Vec<u64>) -> Self {
        if sample.is_empty() {
            return Self::default();
        }
        sample.sort_unstable();
        let at = |q: f64| {
            let i = ((sample.len() as f64 * q).ceil() as usize).clamp(1, sample.len()) - 1;
            sample[i] as f64 / 1000.0
        };
        Self {
            count: sample.len(),
            p50: at(0.50),
            p90: at(0.90),
            p99: at(0.99),
            max: sample[sample.len() - 1] as f64 / 1000.0,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_are_nearest_rank() {
        let s = Summary::of_micros((1..=100).map(|n| n * 1000).collect());
        assert_eq!(
            (s.count, s.p50, s.p90, s.p99, s.max),
            (100, 50.0, 90.0, 99.0, 100.0)
        );
        assert_eq!(Summary::of_micros(vec![]).count, 0);
    }
}
