//! Time distributions: as a scenario writes them ([`DistSpec`]), as the simulation samples them
//! ([`Dist`]), and as [`fit`] estimates them from measured times.
//!
//! The samplers are written here on plain uniform numbers with `libm`'s pure-Rust functions
//! rather than taken from a distributions library: a library's samplers call the platform's
//! math library (whose last bits differ between systems) and may change their algorithm in a
//! minor release, and the same seed must give the same simulation on every machine.

use std::fmt;

use serde::de::{self, MapAccess, Visitor};
use serde::ser::SerializeMap;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::duration::Seconds;
use crate::rng::SimRng;

/// A time distribution as written: a fixed time (`"40s"`, `40`), or one family with its
/// parameters (`{ exponential = { mean = "4m" } }`).
#[derive(Debug, Clone, PartialEq)]
pub enum DistSpec {
    Fixed(Seconds),
    Exponential {
        mean: Seconds,
    },
    /// By the mean and standard deviation of the time itself (not of its logarithm).
    Lognormal {
        mean: Seconds,
        sd: Seconds,
    },
    /// By its shape and either its scale or its mean.
    Gamma {
        shape: f64,
        scale: Seconds,
    },
    Triangular {
        min: Seconds,
        mode: Seconds,
        max: Seconds,
    },
    Uniform {
        min: Seconds,
        max: Seconds,
    },
    /// Measured times (or quantiles at equal steps), sampled by linear interpolation
    /// between the sorted values.
    Empirical(Vec<Seconds>),
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct MeanOnly {
    mean: Seconds,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct MeanSd {
    mean: Seconds,
    sd: Seconds,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct GammaParams {
    shape: f64,
    scale: Option<Seconds>,
    mean: Option<Seconds>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Tri {
    min: Seconds,
    mode: Seconds,
    max: Seconds,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct MinMax {
    min: Seconds,
    max: Seconds,
}

const FAMILIES: &str = "exponential, lognormal, gamma, triangular, uniform, empirical";

impl<'de> Deserialize<'de> for DistSpec {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = DistSpec;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(
                    f,
                    "a fixed time (`40s`) or one distribution such as \
                     `{{ exponential = {{ mean = \"4m\" }} }}` ({FAMILIES})"
                )
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<DistSpec, E> {
                Seconds::deserialize(de::value::I64Deserializer::new(v)).map(DistSpec::Fixed)
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<DistSpec, E> {
                Seconds::deserialize(de::value::U64Deserializer::new(v)).map(DistSpec::Fixed)
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<DistSpec, E> {
                Seconds::deserialize(de::value::F64Deserializer::new(v)).map(DistSpec::Fixed)
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<DistSpec, E> {
                v.parse().map(DistSpec::Fixed).map_err(E::custom)
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<DistSpec, A::Error> {
                let Some(family) = map.next_key::<String>()? else {
                    return Err(de::Error::custom(format!(
                        "an empty table: name one distribution ({FAMILIES})"
                    )));
                };
                let spec = match family.as_str() {
                    "exponential" => {
                        let p: MeanOnly = map.next_value()?;
                        DistSpec::Exponential { mean: p.mean }
                    }
                    "lognormal" => {
                        let p: MeanSd = map.next_value()?;
                        DistSpec::Lognormal {
                            mean: p.mean,
                            sd: p.sd,
                        }
                    }
                    "gamma" => {
                        let p: GammaParams = map.next_value()?;
                        let scale = match (p.scale, p.mean) {
                            (Some(scale), None) => scale,
                            (None, Some(mean)) if p.shape > 0.0 => Seconds(mean.0 / p.shape),
                            _ => {
                                return Err(de::Error::custom(
                                    "gamma takes `shape` and one of `scale` or `mean`",
                                ));
                            }
                        };
                        DistSpec::Gamma {
                            shape: p.shape,
                            scale,
                        }
                    }
                    "triangular" => {
                        let p: Tri = map.next_value()?;
                        DistSpec::Triangular {
                            min: p.min,
                            mode: p.mode,
                            max: p.max,
                        }
                    }
                    "uniform" => {
                        let p: MinMax = map.next_value()?;
                        DistSpec::Uniform {
                            min: p.min,
                            max: p.max,
                        }
                    }
                    "empirical" => DistSpec::Empirical(map.next_value()?),
                    "fixed" => DistSpec::Fixed(map.next_value()?),
                    other => {
                        return Err(de::Error::custom(format!(
                            "unknown distribution `{other}` (expected one of: {FAMILIES})"
                        )));
                    }
                };
                if let Some(extra) = map.next_key::<String>()? {
                    return Err(de::Error::custom(format!(
                        "one distribution per time: `{family}` and `{extra}`"
                    )));
                }
                Ok(spec)
            }
        }
        deserializer.deserialize_any(V)
    }
}

impl Serialize for DistSpec {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        #[derive(Serialize)]
        struct P {
            #[serde(skip_serializing_if = "Option::is_none")]
            mean: Option<Seconds>,
            #[serde(skip_serializing_if = "Option::is_none")]
            sd: Option<Seconds>,
            #[serde(skip_serializing_if = "Option::is_none")]
            shape: Option<f64>,
            #[serde(skip_serializing_if = "Option::is_none")]
            scale: Option<Seconds>,
            #[serde(skip_serializing_if = "Option::is_none")]
            min: Option<Seconds>,
            #[serde(skip_serializing_if = "Option::is_none")]
            mode: Option<Seconds>,
            #[serde(skip_serializing_if = "Option::is_none")]
            max: Option<Seconds>,
        }
        let none = || P {
            mean: None,
            sd: None,
            shape: None,
            scale: None,
            min: None,
            mode: None,
            max: None,
        };
        let (family, params) = match self {
            DistSpec::Fixed(s) => return s.serialize(serializer),
            DistSpec::Empirical(values) => {
                let mut map = serializer.serialize_map(Some(1))?;
                map.serialize_entry("empirical", values)?;
                return map.end();
            }
            DistSpec::Exponential { mean } => (
                "exponential",
                P {
                    mean: Some(*mean),
                    ..none()
                },
            ),
            DistSpec::Lognormal { mean, sd } => (
                "lognormal",
                P {
                    mean: Some(*mean),
                    sd: Some(*sd),
                    ..none()
                },
            ),
            DistSpec::Gamma { shape, scale } => (
                "gamma",
                P {
                    shape: Some(*shape),
                    scale: Some(*scale),
                    ..none()
                },
            ),
            DistSpec::Triangular { min, mode, max } => (
                "triangular",
                P {
                    min: Some(*min),
                    mode: Some(*mode),
                    max: Some(*max),
                    ..none()
                },
            ),
            DistSpec::Uniform { min, max } => (
                "uniform",
                P {
                    min: Some(*min),
                    max: Some(*max),
                    ..none()
                },
            ),
        };
        let mut map = serializer.serialize_map(Some(1))?;
        map.serialize_entry(family, &params)?;
        map.end()
    }
}

impl fmt::Display for DistSpec {
    /// The TOML inline form, as a scenario file writes it.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let q = |s: &Seconds| format!("\"{s}\"");
        match self {
            DistSpec::Fixed(s) => write!(f, "{}", q(s)),
            DistSpec::Exponential { mean } => {
                write!(f, "{{ exponential = {{ mean = {} }} }}", q(mean))
            }
            DistSpec::Lognormal { mean, sd } => write!(
                f,
                "{{ lognormal = {{ mean = {}, sd = {} }} }}",
                q(mean),
                q(sd)
            ),
            DistSpec::Gamma { shape, scale } => write!(
                f,
                "{{ gamma = {{ shape = {}, scale = {} }} }}",
                round4(*shape),
                q(scale)
            ),
            DistSpec::Triangular { min, mode, max } => write!(
                f,
                "{{ triangular = {{ min = {}, mode = {}, max = {} }} }}",
                q(min),
                q(mode),
                q(max)
            ),
            DistSpec::Uniform { min, max } => {
                write!(
                    f,
                    "{{ uniform = {{ min = {}, max = {} }} }}",
                    q(min),
                    q(max)
                )
            }
            DistSpec::Empirical(values) => {
                let items: Vec<String> = values.iter().map(q).collect();
                write!(f, "{{ empirical = [{}] }}", items.join(", "))
            }
        }
    }
}

/// A number for a TOML file: at most four decimals, always with a decimal point.
fn round4(x: f64) -> String {
    let text = format!("{x:.4}");
    let trimmed = text.trim_end_matches('0');
    if trimmed.ends_with('.') {
        format!("{trimmed}0")
    } else {
        trimmed.to_owned()
    }
}

/// Why a distribution cannot be sampled.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{0}")]
pub struct BadDist(pub String);

/// A distribution ready to sample, in seconds.
#[derive(Debug, Clone, PartialEq)]
pub enum Dist {
    Fixed(f64),
    Exponential { mean: f64 },
    Lognormal { mu: f64, sigma: f64 },
    Gamma { shape: f64, scale: f64 },
    Triangular { min: f64, mode: f64, max: f64 },
    Uniform { min: f64, max: f64 },
    Empirical(Vec<f64>),
}

impl DistSpec {
    /// Checks the parameters and prepares the sampler.
    pub fn compile(&self) -> Result<Dist, BadDist> {
        let bad = |m: &str| Err(BadDist(m.to_owned()));
        Ok(match self {
            DistSpec::Fixed(s) => Dist::Fixed(s.0),
            DistSpec::Exponential { mean } => {
                if mean.0 <= 0.0 {
                    return bad("an exponential's mean must be above 0");
                }
                Dist::Exponential { mean: mean.0 }
            }
            DistSpec::Lognormal { mean, sd } => {
                if mean.0 <= 0.0 || sd.0 <= 0.0 {
                    return bad("a lognormal's mean and sd must be above 0");
                }
                let cv2 = (sd.0 / mean.0) * (sd.0 / mean.0);
                let sigma2 = libm::log1p(cv2);
                Dist::Lognormal {
                    mu: libm::log(mean.0) - sigma2 / 2.0,
                    sigma: libm::sqrt(sigma2),
                }
            }
            DistSpec::Gamma { shape, scale } => {
                if !(shape.is_finite() && *shape > 0.0) || scale.0 <= 0.0 {
                    return bad("a gamma's shape and scale must be above 0");
                }
                Dist::Gamma {
                    shape: *shape,
                    scale: scale.0,
                }
            }
            DistSpec::Triangular { min, mode, max } => {
                if !(min.0 <= mode.0 && mode.0 <= max.0) || min.0 == max.0 {
                    return bad("a triangular needs min <= mode <= max and min < max");
                }
                Dist::Triangular {
                    min: min.0,
                    mode: mode.0,
                    max: max.0,
                }
            }
            DistSpec::Uniform { min, max } => {
                if min.0 > max.0 {
                    return bad("a uniform needs min <= max");
                }
                Dist::Uniform {
                    min: min.0,
                    max: max.0,
                }
            }
            DistSpec::Empirical(values) => {
                if values.is_empty() {
                    return bad("an empirical distribution needs at least one time");
                }
                let mut v: Vec<f64> = values.iter().map(|s| s.0).collect();
                v.sort_by(f64::total_cmp);
                Dist::Empirical(v)
            }
        })
    }

    /// The mean, in seconds (for summaries).
    pub fn mean(&self) -> f64 {
        match self.compile() {
            Ok(d) => d.mean(),
            Err(_) => 0.0,
        }
    }
}

/// A standard normal number (Marsaglia's polar method).
fn normal(rng: &mut SimRng) -> f64 {
    loop {
        let u = 2.0 * rng.uniform() - 1.0;
        let v = 2.0 * rng.uniform() - 1.0;
        let s = u * u + v * v;
        if s > 0.0 && s < 1.0 {
            return u * libm::sqrt(-2.0 * libm::log(s) / s);
        }
    }
}

/// A Gamma(shape, 1) number (Marsaglia and Tsang, 2000; shape < 1 by boosting).
fn gamma(shape: f64, rng: &mut SimRng) -> f64 {
    if shape < 1.0 {
        let g = gamma(shape + 1.0, rng);
        return g * libm::pow(rng.open01(), 1.0 / shape);
    }
    let d = shape - 1.0 / 3.0;
    let c = 1.0 / libm::sqrt(9.0 * d);
    loop {
        let x = normal(rng);
        let v = 1.0 + c * x;
        if v <= 0.0 {
            continue;
        }
        let v = v * v * v;
        let u = rng.open01();
        let x2 = x * x;
        if u < 1.0 - 0.0331 * x2 * x2 || libm::log(u) < 0.5 * x2 + d * (1.0 - v + libm::log(v)) {
            return d * v;
        }
    }
}

impl Dist {
    /// One time, in seconds (never negative).
    pub fn sample(&self, rng: &mut SimRng) -> f64 {
        let x = match self {
            Dist::Fixed(x) => *x,
            Dist::Exponential { mean } => -mean * libm::log(rng.open01()),
            Dist::Lognormal { mu, sigma } => libm::exp(mu + sigma * normal(rng)),
            Dist::Gamma { shape, scale } => scale * gamma(*shape, rng),
            Dist::Triangular { min, mode, max } => {
                let u = rng.uniform();
                let split = (mode - min) / (max - min);
                if u < split {
                    min + libm::sqrt(u * (max - min) * (mode - min))
                } else {
                    max - libm::sqrt((1.0 - u) * (max - min) * (max - mode))
                }
            }
            Dist::Uniform { min, max } => min + (max - min) * rng.uniform(),
            Dist::Empirical(values) => {
                let pos = rng.uniform() * (values.len() - 1) as f64;
                let i = pos as usize;
                match values.get(i + 1) {
                    Some(next) => values[i] + (next - values[i]) * (pos - i as f64),
                    None => values[i],
                }
            }
        };
        x.max(0.0)
    }

    pub fn mean(&self) -> f64 {
        match self {
            Dist::Fixed(x) => *x,
            Dist::Exponential { mean } => *mean,
            Dist::Lognormal { mu, sigma } => libm::exp(mu + sigma * sigma / 2.0),
            Dist::Gamma { shape, scale } => shape * scale,
            Dist::Triangular { min, mode, max } => (min + mode + max) / 3.0,
            Dist::Uniform { min, max } => (min + max) / 2.0,
            Dist::Empirical(values) => {
                // The mean of the piecewise-linear distribution through the sorted values.
                if values.len() == 1 {
                    return values[0];
                }
                let pairs = values.windows(2).map(|w| (w[0] + w[1]) / 2.0).sum::<f64>();
                pairs / (values.len() - 1) as f64
            }
        }
    }
}

/// The result of fitting measured times.
#[derive(Debug, Clone, PartialEq)]
pub struct Fitted {
    pub spec: DistSpec,
    /// `fixed`, `exponential`, `lognormal`, `gamma` or `empirical`.
    pub family: &'static str,
    pub n: usize,
    /// Kolmogorov-Smirnov distance between the sample and the chosen distribution (0 for a
    /// fixed or empirical choice, which reproduce the sample).
    pub ks: f64,
}

/// Fewer measurements than this are kept as they are (an empirical distribution).
const MIN_PARAMETRIC: usize = 20;

/// Fits measured times (seconds): the maximum-likelihood exponential, lognormal and gamma,
/// of which the one with the lowest BIC (likelihood penalised by its parameters, so that a
/// two-parameter family must earn its extra parameter) is taken, unless even it fails the
/// Kolmogorov-Smirnov test at the 1% level: then the measured quantiles themselves
/// (empirical). `None` for no measurement.
pub fn fit(samples: &[f64]) -> Option<Fitted> {
    let mut x: Vec<f64> = samples
        .iter()
        .copied()
        .filter(|v| v.is_finite() && *v >= 0.0)
        .collect();
    let n = x.len();
    if n == 0 {
        return None;
    }
    x.sort_by(f64::total_cmp);
    let fixed = |v: f64, n| Fitted {
        spec: DistSpec::Fixed(Seconds(round_ms(v))),
        family: "fixed",
        n,
        ks: 0.0,
    };
    if x[n - 1] - x[0] < 1e-3 {
        return Some(fixed(x[0], n));
    }
    // Times recorded as zero (or near it) have no likelihood under the continuous families;
    // more than a few of them make those families wrong, not merely imprecise.
    let zeros = x.iter().filter(|v| **v < 1e-3).count();
    if n < MIN_PARAMETRIC || zeros * 20 > n {
        return Some(empirical(&x));
    }
    let x: Vec<f64> = x.iter().map(|v| v.max(1e-3)).collect();
    let nf = n as f64;
    let mean = x.iter().sum::<f64>() / nf;
    let logs: Vec<f64> = x.iter().map(|v| libm::log(*v)).collect();
    let sum_log = logs.iter().sum::<f64>();
    let mean_log = sum_log / nf;

    let mut candidates: Vec<(f64, Candidate)> = Vec::new();
    // Exponential.
    let ll = -nf * libm::log(mean) - nf;
    candidates.push((bic(ll, 1, nf), Candidate::Exponential { mean }));
    // Lognormal.
    let var_log = logs
        .iter()
        .map(|l| (l - mean_log) * (l - mean_log))
        .sum::<f64>()
        / nf;
    if var_log > 0.0 {
        let sigma = libm::sqrt(var_log);
        let ll = -sum_log
            - nf * libm::log(sigma)
            - nf / 2.0 * libm::log(2.0 * std::f64::consts::PI)
            - nf / 2.0;
        candidates.push((
            bic(ll, 2, nf),
            Candidate::Lognormal {
                mu: mean_log,
                sigma,
            },
        ));
    }
    // Gamma: the shape solves ln k - digamma(k) = ln(mean) - mean(ln x).
    let s = libm::log(mean) - mean_log;
    if s > 0.0 {
        let shape = gamma_shape(s);
        let scale = mean / shape;
        let ll = (shape - 1.0) * sum_log
            - nf * mean / scale
            - nf * shape * libm::log(scale)
            - nf * statrs::function::gamma::ln_gamma(shape);
        if ll.is_finite() {
            candidates.push((bic(ll, 2, nf), Candidate::Gamma { shape, scale }));
        }
    }
    candidates.sort_by(|a, b| a.0.total_cmp(&b.0));
    let best = candidates.first()?.1;
    let ks = ks_distance(&x, |v| best.cdf(v));
    // Critical value of the one-sample KS test at 1% (asymptotic; conservative with
    // estimated parameters, so a family is dropped only when it clearly fails).
    if ks > 1.628 / nf.sqrt() {
        return Some(empirical(&x));
    }
    Some(Fitted {
        spec: best.spec(),
        family: best.family(),
        n,
        ks,
    })
}

fn bic(log_likelihood: f64, parameters: u32, n: f64) -> f64 {
    f64::from(parameters) * libm::log(n) - 2.0 * log_likelihood
}

/// Milliseconds are the finest a fitted file keeps.
fn round_ms(v: f64) -> f64 {
    (v * 1000.0).round() / 1000.0
}

/// The measured quantiles at every 5% (all the values when fewer than 21).
fn empirical(sorted: &[f64]) -> Fitted {
    let n = sorted.len();
    let values: Vec<Seconds> = if n <= 21 {
        sorted.iter().map(|v| Seconds(round_ms(*v))).collect()
    } else {
        (0..=20)
            .map(|k| {
                let pos = k as f64 / 20.0 * (n - 1) as f64;
                let i = pos as usize;
                let v = match sorted.get(i + 1) {
                    Some(next) => sorted[i] + (next - sorted[i]) * (pos - i as f64),
                    None => sorted[i],
                };
                Seconds(round_ms(v))
            })
            .collect()
    };
    Fitted {
        spec: DistSpec::Empirical(values),
        family: "empirical",
        n,
        ks: 0.0,
    }
}

/// The gamma shape `k` with `ln k - digamma(k) = s` (s > 0): the left side falls from
/// infinity to 0 as k grows, so bisection on a bracket around the closed-form first guess
/// (Minka's) finds it.
fn gamma_shape(s: f64) -> f64 {
    use statrs::function::gamma::digamma;
    let f = |k: f64| libm::log(k) - digamma(k) - s;
    let guess = (3.0 - s + libm::sqrt((s - 3.0) * (s - 3.0) + 24.0 * s)) / (12.0 * s);
    let (mut lo, mut hi) = (guess / 2.0, guess * 2.0);
    while f(lo) < 0.0 && lo > 1e-12 {
        lo /= 2.0;
    }
    while f(hi) > 0.0 && hi < 1e12 {
        hi *= 2.0;
    }
    for _ in 0..200 {
        let mid = (lo + hi) / 2.0;
        if f(mid) > 0.0 {
            lo = mid;
        } else {
            hi = mid;
        }
        if hi - lo < 1e-12 * hi {
            break;
        }
    }
    (lo + hi) / 2.0
}

/// The largest gap between the sample's step CDF and `cdf`.
fn ks_distance(sorted: &[f64], cdf: impl Fn(f64) -> f64) -> f64 {
    let n = sorted.len() as f64;
    sorted
        .iter()
        .enumerate()
        .map(|(i, v)| {
            let f = cdf(*v);
            (f - i as f64 / n).max((i + 1) as f64 / n - f)
        })
        .fold(0.0, f64::max)
}

#[derive(Debug, Clone, Copy)]
enum Candidate {
    Exponential { mean: f64 },
    Lognormal { mu: f64, sigma: f64 },
    Gamma { shape: f64, scale: f64 },
}

impl Candidate {
    fn cdf(&self, x: f64) -> f64 {
        match *self {
            Candidate::Exponential { mean } => 1.0 - libm::exp(-x / mean),
            Candidate::Lognormal { mu, sigma } => {
                0.5 * statrs::function::erf::erfc(
                    -(libm::log(x) - mu) / (sigma * std::f64::consts::SQRT_2),
                )
            }
            Candidate::Gamma { shape, scale } => {
                statrs::function::gamma::checked_gamma_lr(shape, x / scale).unwrap_or(0.0)
            }
        }
    }

    fn family(&self) -> &'static str {
        match self {
            Candidate::Exponential { .. } => "exponential",
            Candidate::Lognormal { .. } => "lognormal",
            Candidate::Gamma { .. } => "gamma",
        }
    }

    fn spec(&self) -> DistSpec {
        match *self {
            Candidate::Exponential { mean } => DistSpec::Exponential {
                mean: Seconds(round_ms(mean)),
            },
            Candidate::Lognormal { mu, sigma } => {
                let mean = libm::exp(mu + sigma * sigma / 2.0);
                let sd = mean * libm::sqrt(libm::expm1(sigma * sigma));
                DistSpec::Lognormal {
                    mean: Seconds(round_ms(mean)),
                    sd: Seconds(round_ms(sd)),
                }
            }
            Candidate::Gamma { shape, scale } => DistSpec::Gamma {
                shape: (shape * 1e4).round() / 1e4,
                scale: Seconds(round_ms(scale)),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::Purpose;

    fn draws(spec: &DistSpec, n: usize, seed: u64) -> Vec<f64> {
        let dist = spec.compile().unwrap();
        let mut rng = SimRng::stream(seed, 0, Purpose::Cases);
        (0..n).map(|_| dist.sample(&mut rng)).collect()
    }

    fn mean_sd(x: &[f64]) -> (f64, f64) {
        let n = x.len() as f64;
        let m = x.iter().sum::<f64>() / n;
        let v = x.iter().map(|v| (v - m) * (v - m)).sum::<f64>() / (n - 1.0);
        (m, v.sqrt())
    }

    fn toml_spec(text: &str) -> DistSpec {
        #[derive(Deserialize)]
        struct W {
            t: DistSpec,
        }
        toml::from_str::<W>(&format!("t = {text}")).unwrap().t
    }

    #[test]
    fn reads_every_family_as_written() {
        assert_eq!(toml_spec("\"40s\""), DistSpec::Fixed(Seconds(40.0)));
        assert_eq!(toml_spec("2.5"), DistSpec::Fixed(Seconds(2.5)));
        assert_eq!(
            toml_spec("{ exponential = { mean = \"4m\" } }"),
            DistSpec::Exponential {
                mean: Seconds(240.0)
            }
        );
        assert_eq!(
            toml_spec("{ gamma = { shape = 2.0, mean = \"1m\" } }"),
            DistSpec::Gamma {
                shape: 2.0,
                scale: Seconds(30.0)
            }
        );
        assert_eq!(
            toml_spec("{ empirical = [\"30s\", 45] }"),
            DistSpec::Empirical(vec![Seconds(30.0), Seconds(45.0)])
        );
        // What the Display form writes reads back as the same distribution.
        for spec in [
            DistSpec::Lognormal {
                mean: Seconds(60.0),
                sd: Seconds(30.5),
            },
            DistSpec::Triangular {
                min: Seconds(30.0),
                mode: Seconds(60.0),
                max: Seconds(180.0),
            },
            DistSpec::Gamma {
                shape: 2.3125,
                scale: Seconds(25.9),
            },
            DistSpec::Uniform {
                min: Seconds(1.0),
                max: Seconds(2.0),
            },
        ] {
            assert_eq!(toml_spec(&spec.to_string()), spec);
        }
    }

    #[test]
    fn refuses_what_is_not_a_distribution_with_the_reason() {
        #[derive(Debug, Deserialize)]
        #[allow(dead_code)]
        struct W {
            t: DistSpec,
        }
        let err = |text: &str| {
            toml::from_str::<W>(&format!("t = {text}"))
                .unwrap_err()
                .to_string()
        };
        assert!(err("{ weibull = { k = 1 } }").contains("unknown distribution `weibull`"));
        assert!(err("{ exponential = { mean = \"4m\", sd = 1 } }").contains("unknown field `sd`"));
        assert!(err("{ gamma = { shape = 2.0 } }").contains("one of `scale` or `mean`"));
        assert!(err("\"4 minutes\"").contains("invalid time"));
        let bad = DistSpec::Triangular {
            min: Seconds(5.0),
            mode: Seconds(1.0),
            max: Seconds(9.0),
        };
        assert!(bad.compile().is_err());
    }

    #[test]
    fn samples_have_the_moments_of_their_distribution() {
        let n = 200_000;
        // (spec, mean, sd)
        let cases = [
            (
                DistSpec::Exponential {
                    mean: Seconds(240.0),
                },
                240.0,
                240.0,
            ),
            (
                DistSpec::Lognormal {
                    mean: Seconds(60.0),
                    sd: Seconds(30.0),
                },
                60.0,
                30.0,
            ),
            (
                DistSpec::Gamma {
                    shape: 3.0,
                    scale: Seconds(20.0),
                },
                60.0,
                (3.0f64).sqrt() * 20.0,
            ),
            (
                DistSpec::Gamma {
                    shape: 0.5,
                    scale: Seconds(20.0),
                },
                10.0,
                (0.5f64).sqrt() * 20.0,
            ),
            (
                DistSpec::Triangular {
                    min: Seconds(30.0),
                    mode: Seconds(60.0),
                    max: Seconds(180.0),
                },
                90.0,
                // sqrt((a²+b²+c²-ab-ac-bc)/18)
                ((900.0 + 3600.0 + 32400.0 - 1800.0 - 5400.0 - 10800.0) / 18.0f64).sqrt(),
            ),
            (
                DistSpec::Uniform {
                    min: Seconds(10.0),
                    max: Seconds(20.0),
                },
                15.0,
                10.0 / 12f64.sqrt(),
            ),
        ];
        for (i, (spec, mean, sd)) in cases.iter().enumerate() {
            let x = draws(spec, n, i as u64);
            let (m, s) = mean_sd(&x);
            // Five standard errors of the mean; the sd within 2%.
            assert!(
                (m - mean).abs() < 5.0 * sd / (n as f64).sqrt(),
                "{spec}: mean {m}"
            );
            assert!((s - sd).abs() < 0.02 * sd, "{spec}: sd {s}");
            assert!((spec.compile().unwrap().mean() - mean).abs() < 1e-9);
        }
    }

    #[test]
    fn empirical_sampling_interpolates_between_the_values() {
        let spec = DistSpec::Empirical(vec![Seconds(10.0), Seconds(20.0), Seconds(40.0)]);
        let x = draws(&spec, 100_000, 3);
        assert!(x.iter().all(|v| (10.0..=40.0).contains(v)));
        let below_20 = x.iter().filter(|v| **v < 20.0).count() as f64 / x.len() as f64;
        assert!((below_20 - 0.5).abs() < 0.01, "{below_20}");
        let (m, _) = mean_sd(&x);
        assert!((m - 22.5).abs() < 0.2, "{m}");
    }

    #[test]
    fn fitting_recovers_family_and_parameters() {
        let n = 3000;
        let exp = fit(&draws(
            &DistSpec::Exponential {
                mean: Seconds(240.0),
            },
            n,
            21,
        ))
        .unwrap();
        assert_eq!(exp.family, "exponential", "{:?}", exp.spec);
        let DistSpec::Exponential { mean } = exp.spec else {
            unreachable!()
        };
        assert!(
            (mean.0 - 240.0).abs() < 240.0 * 4.0 / (n as f64).sqrt(),
            "{mean}"
        );

        let logn = fit(&draws(
            &DistSpec::Lognormal {
                mean: Seconds(60.0),
                sd: Seconds(60.0),
            },
            n,
            22,
        ))
        .unwrap();
        assert_eq!(logn.family, "lognormal", "{:?}", logn.spec);
        let DistSpec::Lognormal { mean, sd } = logn.spec else {
            unreachable!()
        };
        assert!((mean.0 - 60.0).abs() < 3.0, "{mean}");
        assert!((sd.0 - 60.0).abs() < 8.0, "{sd}");

        let gam = fit(&draws(
            &DistSpec::Gamma {
                shape: 3.0,
                scale: Seconds(20.0),
            },
            n,
            23,
        ))
        .unwrap();
        assert_eq!(gam.family, "gamma", "{:?}", gam.spec);
        let DistSpec::Gamma { shape, scale } = gam.spec else {
            unreachable!()
        };
        assert!((shape - 3.0).abs() < 0.25, "{shape}");
        assert!((shape * scale.0 - 60.0).abs() < 2.0, "{scale}");
    }

    #[test]
    fn fitting_keeps_what_no_family_fits_and_what_is_fixed() {
        // Two clusters: no single family fits, the quantiles are kept.
        let mut x: Vec<f64> = draws(
            &DistSpec::Uniform {
                min: Seconds(10.0),
                max: Seconds(12.0),
            },
            1000,
            5,
        );
        x.extend(draws(
            &DistSpec::Uniform {
                min: Seconds(100.0),
                max: Seconds(102.0),
            },
            1000,
            6,
        ));
        let f = fit(&x).unwrap();
        assert_eq!(f.family, "empirical");
        let DistSpec::Empirical(q) = &f.spec else {
            unreachable!()
        };
        assert_eq!(q.len(), 21);
        assert!(q[0].0 >= 10.0 && q[20].0 <= 102.0);
        assert_eq!(
            fit(&[0.0, 0.0, 0.0]).unwrap().spec,
            DistSpec::Fixed(Seconds(0.0))
        );
        assert_eq!(fit(&[]), None);
        assert_eq!(fit(&[5.0, 7.0]).unwrap().family, "empirical");
    }
}
