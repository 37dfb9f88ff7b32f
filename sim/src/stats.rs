//! Figures over replications: the mean with a 95% confidence interval (Student's t), and
//! nearest-rank percentiles within a replication (as `sopflow report` computes them).

use serde::Serialize;

/// A mean over replications with its 95% confidence interval.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Ci {
    pub mean: f64,
    pub low: f64,
    pub high: f64,
    /// Replications that gave a value.
    pub n: u32,
}

impl Ci {
    /// Half the interval's width.
    pub fn half(&self) -> f64 {
        (self.high - self.low) / 2.0
    }

    pub fn contains(&self, x: f64) -> bool {
        self.low <= x && x <= self.high
    }
}

/// Two-sided 97.5% quantiles of Student's t for 1 to 30 degrees of freedom.
const T975: [f64; 30] = [
    12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.160,
    2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086, 2.080, 2.074, 2.069, 2.064, 2.060, 2.056,
    2.052, 2.048, 2.045, 2.042,
];

/// The 97.5% quantile of Student's t with `df` degrees of freedom: the table up to 30, then
/// linear in 1/df through 40, 60, 120 and infinity (good to three decimals).
pub fn t975(df: u32) -> f64 {
    if df == 0 {
        return f64::INFINITY;
    }
    if let Some(t) = T975.get(df as usize - 1) {
        return *t;
    }
    let points = [
        (30.0, 2.042),
        (40.0, 2.021),
        (60.0, 2.000),
        (120.0, 1.980),
        (f64::INFINITY, 1.960),
    ];
    let x = 1.0 / f64::from(df);
    for w in points.windows(2) {
        let (d0, t0) = w[0];
        let (d1, t1) = w[1];
        let (x0, x1) = (1.0 / d0, if d1.is_finite() { 1.0 / d1 } else { 0.0 });
        if x <= x0 && x >= x1 {
            return t1 + (t0 - t1) * (x - x1) / (x0 - x1);
        }
    }
    1.960
}

/// The mean and 95% interval of the values given (replications without a value are left
/// out); `None` when there is none. One value gives an interval of zero width.
pub fn ci(values: impl IntoIterator<Item = Option<f64>>) -> Option<Ci> {
    let v: Vec<f64> = values
        .into_iter()
        .flatten()
        .filter(|x| x.is_finite())
        .collect();
    if v.is_empty() {
        return None;
    }
    let n = v.len() as f64;
    let mean = v.iter().sum::<f64>() / n;
    let half = if v.len() > 1 {
        let var = v.iter().map(|x| (x - mean) * (x - mean)).sum::<f64>() / (n - 1.0);
        t975(v.len() as u32 - 1) * (var / n).sqrt()
    } else {
        0.0
    };
    Some(Ci {
        mean,
        low: mean - half,
        high: mean + half,
        n: v.len() as u32,
    })
}

/// The nearest-rank percentile `q` (0..1] of `values` (reordered); `None` when empty.
pub fn percentile(values: &mut [i64], q: f64) -> Option<i64> {
    if values.is_empty() {
        return None;
    }
    let rank = ((q * values.len() as f64).ceil() as usize).clamp(1, values.len());
    let (_, v, _) = values.select_nth_unstable(rank - 1);
    Some(*v)
}

pub fn mean(values: &[i64]) -> Option<f64> {
    (!values.is_empty())
        .then(|| values.iter().map(|v| *v as f64).sum::<f64>() / values.len() as f64)
}

/// `part / whole`, when there is a whole.
pub fn share(part: u64, whole: u64) -> Option<f64> {
    (whole > 0).then(|| part as f64 / whole as f64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_interval_of_known_values() {
        // Mean 5, sample sd 2 over 4 values: 5 ± 3.182 × 2 / 2.
        let c = ci([3.0, 5.0, 7.0, 5.0].map(Some).into_iter().chain([None])).unwrap();
        let sd = (8.0f64 / 3.0).sqrt();
        assert!((c.mean - 5.0).abs() < 1e-12);
        assert!((c.half() - 3.182 * sd / 2.0).abs() < 1e-9);
        assert_eq!(c.n, 4);
        assert_eq!(ci([Some(2.0)]).unwrap().half(), 0.0);
        assert_eq!(ci([None, None]), None);
    }

    #[test]
    fn t_quantiles_beyond_the_table() {
        assert_eq!(t975(1), 12.706);
        assert_eq!(t975(30), 2.042);
        assert!((t975(40) - 2.021).abs() < 1e-9);
        assert!((t975(50) - 2.009).abs() < 0.002);
        assert!((t975(100) - 1.984).abs() < 0.002);
        assert!((t975(100_000) - 1.960).abs() < 0.001);
    }

    #[test]
    fn nearest_rank_percentiles() {
        let mut v: Vec<i64> = (1..=10).rev().collect();
        assert_eq!(percentile(&mut v, 0.9), Some(9));
        assert_eq!(percentile(&mut v, 0.5), Some(5));
        assert_eq!(percentile(&mut v, 1.0), Some(10));
        assert_eq!(percentile(&mut [], 0.9), None);
        assert_eq!(percentile(&mut [7], 0.9), Some(7));
    }
}
