//! What a workload measured: one [`Row`] per metric, with one value per run.

/// What a row's values are.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Unit {
    /// Milliseconds.
    Millis,
    /// Bytes.
    Bytes,
    /// Megabytes (10^6 bytes).
    Megabytes,
    /// A ratio (no unit).
    Ratio,
    /// A count of things, or things per second.
    Count,
    /// CPU time over wall time: how many cores were busy.
    Cores,
}

/// An upper bound the median of a row's runs should stay under.
#[derive(Clone, Copy, Debug)]
pub struct Target {
    /// The bound, in the row's unit.
    pub under: f64,
}

/// One metric of one workload.
#[derive(Clone, Debug)]
pub struct Row {
    /// The workload's name.
    pub workload: &'static str,
    /// The size it ran at, in words.
    pub size: String,
    /// What was measured.
    pub metric: String,
    /// The unit of `runs`.
    pub unit: Unit,
    /// One value per run.
    pub runs: Vec<f64>,
    /// The target, if the design sets one.
    pub target: Option<Target>,
}

impl Row {
    /// A row with no target.
    pub fn new(workload: &'static str, size: String, metric: &str, unit: Unit) -> Self {
        Self {
            workload,
            size,
            metric: metric.to_owned(),
            unit,
            runs: Vec::new(),
            target: None,
        }
    }

    /// The same, judged against a bound.
    pub fn under(mut self, bound: f64) -> Self {
        self.target = Some(Target { under: bound });
        self
    }

    /// Sets the values of the runs.
    pub fn with_runs(mut self, runs: Vec<f64>) -> Self {
        self.runs = runs;
        self
    }

    /// The median of the runs.
    pub fn median(&self) -> f64 {
        median(&self.runs)
    }
}

/// The value at percentile `p` (0-100) of `samples`, by nearest rank; 0 for none.
pub fn percentile(samples: &[f64], p: f64) -> f64 {
    if samples.is_empty() {
        return 0.0;
    }
    let mut sorted = samples.to_vec();
    sorted.sort_by(f64::total_cmp);
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

/// The median of `values` (the mean of the middle two for an even count); 0 for none.
pub fn median(values: &[f64]) -> f64 {
    if values.is_empty() {
        return 0.0;
    }
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let mid = sorted.len() / 2;
    if sorted.len().is_multiple_of(2) {
        (sorted[mid - 1] + sorted[mid]) / 2.0
    } else {
        sorted[mid]
    }
}

/// Milliseconds in a duration.
pub fn millis(duration: std::time::Duration) -> f64 {
    duration.as_secs_f64() * 1000.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_take_the_nearest_rank() {
        let samples: Vec<f64> = (1..=100).map(f64::from).collect();
        assert_eq!(percentile(&samples, 50.0), 50.0);
        assert_eq!(percentile(&samples, 99.0), 99.0);
        assert_eq!(percentile(&[3.0], 99.0), 3.0);
        assert_eq!(median(&[1.0, 4.0, 2.0, 3.0]), 2.5);
    }
}
