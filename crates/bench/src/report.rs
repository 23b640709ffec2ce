//! The report: each measure's runs and their median, each scenario as a ratio to its
//! baseline measured in the same run, each target met or not; printed as tables and written
//! as JSON.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::time::Duration;

use serde::Serialize;

use crate::load::Outcome;
use crate::monitor::ProcessFigures;

/// The figures of one run of one measure.
#[derive(Clone, Debug, Serialize)]
pub struct RunFigures {
    pub calls: u64,
    pub items: u64,
    pub seconds: f64,
    /// Items per second (calls per second where each call is one item).
    pub rate: f64,
    pub p50_ms: f64,
    pub p95_ms: f64,
    pub p99_ms: f64,
    pub p999_ms: f64,
    pub errors: BTreeMap<String, u64>,
    pub processes: Vec<ProcessFigures>,
}

fn ms(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1000.0
}

impl RunFigures {
    pub fn new(outcome: &Outcome, processes: Vec<ProcessFigures>) -> Self {
        Self {
            calls: outcome.calls,
            items: outcome.items,
            seconds: outcome.elapsed.as_secs_f64(),
            rate: outcome.items_per_sec(),
            p50_ms: ms(outcome.latency(0.5)),
            p95_ms: ms(outcome.latency(0.95)),
            p99_ms: ms(outcome.latency(0.99)),
            p999_ms: ms(outcome.latency(0.999)),
            errors: outcome.errors.clone(),
            processes,
        }
    }
}

/// A check made after a run (an invariant of what it left).
#[derive(Clone, Debug, Serialize)]
pub struct Check {
    pub what: String,
    pub held: bool,
}

/// One measure on one backend: a scenario's operation or a baseline.
#[derive(Clone, Debug, Serialize)]
pub struct Measure {
    /// `rsvp-hot`, `browse`, …
    pub scenario: String,
    /// What was measured: `Rsvp`, `raw hot-row SQL`, …
    pub name: String,
    pub backend: String,
    pub baseline: bool,
    /// What `rate` counts per second.
    pub unit: String,
    /// The rows already in the database, as a multiple of the scenario's size (1, 10, 100).
    pub growth: u32,
    pub runs: Vec<RunFigures>,
    pub checks: Vec<Check>,
    /// Anything else worth saying (sizes, in-flight count).
    pub notes: Vec<String>,
}

fn median(mut values: Vec<f64>) -> f64 {
    if values.is_empty() {
        return 0.0;
    }
    values.sort_by(f64::total_cmp);
    let mid = values.len() / 2;
    if values.len() % 2 == 1 {
        values[mid]
    } else {
        f64::midpoint(values[mid - 1], values[mid])
    }
}

impl Measure {
    pub fn median_of(&self, figure: impl Fn(&RunFigures) -> f64) -> f64 {
        median(self.runs.iter().map(figure).collect())
    }

    pub fn rate(&self) -> f64 {
        self.median_of(|r| r.rate)
    }

    pub fn p99(&self) -> f64 {
        self.median_of(|r| r.p99_ms)
    }

    pub fn errors(&self) -> u64 {
        self.runs.iter().flat_map(|r| r.errors.values()).sum()
    }

    /// The most any run saw of each process: (service, peak KiB, peak connections, idle KiB).
    pub fn processes(&self) -> BTreeMap<String, (u64, u64, u64)> {
        let mut most = BTreeMap::<String, (u64, u64, u64)>::new();
        for figures in self.runs.iter().flat_map(|r| &r.processes) {
            let entry = most.entry(figures.service.clone()).or_default();
            entry.0 = entry.0.max(figures.peak_kib);
            entry.1 = entry.1.max(figures.peak_connections);
            entry.2 = entry.2.max(figures.idle_kib);
        }
        most
    }

    fn key(&self) -> (String, String, String, u32) {
        (
            self.scenario.clone(),
            self.name.clone(),
            self.backend.clone(),
            self.growth,
        )
    }
}

/// Which figure a target compares.
#[derive(Clone, Copy, Debug, Serialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum Figure {
    /// The scenario's rate over the baseline's: at least `bound`.
    Rate,
    /// The scenario's p99 over the baseline's: at most `bound`.
    P99,
}

/// A target: a measure as a ratio to its baseline, on every backend both ran on.
#[derive(Clone, Debug, Serialize)]
pub struct Target {
    pub scenario: &'static str,
    pub measure: &'static str,
    pub baseline: &'static str,
    pub figure: Figure,
    pub bound: f64,
    /// Only on this backend (`None`: on each).
    pub backend: Option<&'static str>,
}

/// A target held against the figures.
#[derive(Clone, Debug, Serialize)]
pub struct Verdict {
    pub scenario: String,
    pub measure: String,
    pub baseline: String,
    pub backend: String,
    pub growth: u32,
    pub figure: Figure,
    pub ratio: f64,
    pub bound: f64,
    pub met: bool,
}

/// A measure with no target, as a ratio to the one baseline of its scenario.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct Ratio {
    pub scenario: String,
    pub measure: String,
    pub baseline: String,
    pub backend: String,
    pub growth: u32,
    /// Its rate over the baseline's.
    pub rate: f64,
    /// Its p99 over the baseline's.
    pub p99: f64,
}

/// How a measure changed from ×1 to ×`growth` rows already in the database.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct Change {
    pub scenario: String,
    pub measure: String,
    pub backend: String,
    pub growth: u32,
    /// Rate at ×`growth` over the rate at ×1 (1.0: no change; below 1: slower).
    pub rate: f64,
    /// p99 at ×`growth` over the p99 at ×1 (above 1: slower).
    pub p99: f64,
}

/// The whole report.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Report {
    pub machine: BTreeMap<String, String>,
    pub settings: BTreeMap<String, String>,
    pub measures: Vec<Measure>,
    pub verdicts: Vec<Verdict>,
    /// The measures no target names, each against its scenario's baseline where it has one.
    pub ratios: Vec<Ratio>,
    pub growth: Vec<Change>,
}

impl Report {
    pub fn add(&mut self, measure: Measure) {
        if let Some(existing) = self.measures.iter_mut().find(|m| m.key() == measure.key()) {
            existing.runs.extend(measure.runs);
            existing.checks.extend(measure.checks);
        } else {
            self.measures.push(measure);
        }
    }

    fn find(&self, scenario: &str, name: &str, backend: &str, growth: u32) -> Option<&Measure> {
        self.measures.iter().find(|m| {
            m.scenario == scenario && m.name == name && m.backend == backend && m.growth == growth
        })
    }

    /// Holds each target against every backend and growth both its measures ran at.
    pub fn judge(&mut self, targets: &[Target]) {
        let mut verdicts = Vec::new();
        for target in targets {
            for measure in self
                .measures
                .iter()
                .filter(|m| m.scenario == target.scenario && m.name == target.measure)
                .filter(|m| target.backend.is_none_or(|b| b == m.backend))
            {
                let Some(baseline) = self.find(
                    target.scenario,
                    target.baseline,
                    &measure.backend,
                    measure.growth,
                ) else {
                    continue;
                };
                let (ratio, met) = match target.figure {
                    Figure::Rate => {
                        let ratio = ratio(measure.rate(), baseline.rate());
                        (ratio, ratio >= target.bound)
                    }
                    Figure::P99 => {
                        let ratio = ratio(measure.p99(), baseline.p99());
                        (ratio, ratio <= target.bound)
                    }
                };
                verdicts.push(Verdict {
                    scenario: target.scenario.to_owned(),
                    measure: target.measure.to_owned(),
                    baseline: target.baseline.to_owned(),
                    backend: measure.backend.clone(),
                    growth: measure.growth,
                    figure: target.figure,
                    ratio,
                    bound: target.bound,
                    met,
                });
            }
        }
        self.verdicts = verdicts;
        self.ratios = self.untargeted_ratios(targets);
    }

    /// Each measure that no target names, against the baseline of its scenario (same backend
    /// and growth) when there is exactly one.
    fn untargeted_ratios(&self, targets: &[Target]) -> Vec<Ratio> {
        self.measures
            .iter()
            .filter(|m| !m.baseline)
            .filter(|m| {
                !targets
                    .iter()
                    .any(|t| t.scenario == m.scenario && t.measure == m.name)
            })
            .filter_map(|m| {
                let mut baselines = self.measures.iter().filter(|b| {
                    b.baseline
                        && b.scenario == m.scenario
                        && b.backend == m.backend
                        && b.growth == m.growth
                });
                let baseline = baselines.next()?;
                if baselines.next().is_some() {
                    return None;
                }
                Some(Ratio {
                    scenario: m.scenario.clone(),
                    measure: m.name.clone(),
                    baseline: baseline.name.clone(),
                    backend: m.backend.clone(),
                    growth: m.growth,
                    rate: ratio(m.rate(), baseline.rate()),
                    p99: ratio(m.p99(), baseline.p99()),
                })
            })
            .collect()
    }

    /// Each measure run at a growth above ×1 against itself at ×1.
    pub fn compare_growth(&mut self) {
        self.growth = self
            .measures
            .iter()
            .filter(|m| m.growth > 1)
            .filter_map(|m| {
                let at_one = self.find(&m.scenario, &m.name, &m.backend, 1)?;
                Some(Change {
                    scenario: m.scenario.clone(),
                    measure: m.name.clone(),
                    backend: m.backend.clone(),
                    growth: m.growth,
                    rate: ratio(m.rate(), at_one.rate()),
                    p99: ratio(m.p99(), at_one.p99()),
                })
            })
            .collect();
    }

    /// Every check of every measure held.
    pub fn checks_held(&self) -> bool {
        self.measures.iter().flat_map(|m| &m.checks).all(|c| c.held)
    }

    /// The tables, as printed.
    pub fn table(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(
            out,
            "{:<12} {:<34} {:<8} {:>4} {:>5} {:>11} {:>8} {:>8} {:>8} {:>8} {:>6}",
            "scenario",
            "measure",
            "backend",
            "×",
            "runs",
            "rate",
            "p50 ms",
            "p95 ms",
            "p99 ms",
            "p99.9 ms",
            "errors"
        );
        for m in &self.measures {
            let _ = writeln!(
                out,
                "{:<12} {:<34} {:<8} {:>4} {:>5} {:>11} {:>8.2} {:>8.2} {:>8.2} {:>8.2} {:>6}",
                m.scenario,
                if m.baseline {
                    format!("[baseline] {}", m.name)
                } else {
                    m.name.clone()
                },
                m.backend,
                m.growth,
                m.runs.len(),
                format!("{:.0} {}", m.rate(), m.unit),
                m.median_of(|r| r.p50_ms),
                m.median_of(|r| r.p95_ms),
                m.p99(),
                m.median_of(|r| r.p999_ms),
                m.errors(),
            );
        }
        let _ = writeln!(out);
        let _ = writeln!(
            out,
            "{:<12} {:<34} {:<8} {:<24} {:>4} {:>6} {:>8} {:>8}  met",
            "scenario", "measure", "backend", "baseline", "×", "figure", "ratio", "target"
        );
        for v in &self.verdicts {
            let _ = writeln!(
                out,
                "{:<12} {:<34} {:<8} {:<24} {:>4} {:>6} {:>7.3}× {:>1}{:>6.2}×  {}",
                v.scenario,
                v.measure,
                v.backend,
                v.baseline,
                v.growth,
                match v.figure {
                    Figure::Rate => "rate",
                    Figure::P99 => "p99",
                },
                v.ratio,
                match v.figure {
                    Figure::Rate => "≥",
                    Figure::P99 => "≤",
                },
                v.bound,
                if v.met { "yes" } else { "NO" },
            );
        }
        if !self.ratios.is_empty() {
            let _ = writeln!(out);
            let _ = writeln!(
                out,
                "{:<12} {:<34} {:<8} {:<24} {:>4} {:>8} {:>8}  (no target)",
                "scenario", "measure", "backend", "baseline", "×", "rate", "p99"
            );
            for r in &self.ratios {
                let _ = writeln!(
                    out,
                    "{:<12} {:<34} {:<8} {:<24} {:>4} {:>7.3}× {:>7.3}×",
                    r.scenario, r.measure, r.backend, r.baseline, r.growth, r.rate, r.p99
                );
            }
        }
        let _ = writeln!(out);
        let _ = writeln!(
            out,
            "{:<12} {:<34} {:<8} {:>4} {:<14} {:>10} {:>10} {:>6}",
            "scenario", "measure", "backend", "×", "process", "idle MiB", "peak MiB", "conns"
        );
        for m in self.measures.iter().filter(|m| !m.baseline) {
            for (service, (peak, connections, idle)) in m.processes() {
                let _ = writeln!(
                    out,
                    "{:<12} {:<34} {:<8} {:>4} {:<14} {:>10.1} {:>10.1} {:>6}",
                    m.scenario,
                    m.name,
                    m.backend,
                    m.growth,
                    service,
                    mib(idle),
                    mib(peak),
                    connections
                );
            }
        }
        if !self.growth.is_empty() {
            let _ = writeln!(out);
            let _ = writeln!(
                out,
                "{:<12} {:<34} {:<8} {:>4} {:>12} {:>12}",
                "scenario", "measure", "backend", "×", "rate vs ×1", "p99 vs ×1"
            );
            for c in &self.growth {
                let _ = writeln!(
                    out,
                    "{:<12} {:<34} {:<8} {:>4} {:>11.3}× {:>11.3}×",
                    c.scenario, c.measure, c.backend, c.growth, c.rate, c.p99
                );
            }
        }
        for m in &self.measures {
            for check in &m.checks {
                let _ = writeln!(
                    out,
                    "check {} {} ({}): {} — {}",
                    m.scenario,
                    m.name,
                    m.backend,
                    check.what,
                    if check.held { "held" } else { "FAILED" }
                );
            }
        }
        out
    }
}

#[allow(
    clippy::cast_precision_loss,
    reason = "KiB of a process fit an f64 exactly"
)]
fn mib(kib: u64) -> f64 {
    kib as f64 / 1024.0
}

fn ratio(value: f64, baseline: f64) -> f64 {
    if baseline > 0.0 {
        value / baseline
    } else {
        0.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn measure(name: &str, baseline: bool, rates: &[f64], p99s: &[f64]) -> Measure {
        grown(name, baseline, 1, rates, p99s)
    }

    fn grown(name: &str, baseline: bool, growth: u32, rates: &[f64], p99s: &[f64]) -> Measure {
        Measure {
            scenario: "s".to_owned(),
            name: name.to_owned(),
            backend: "sqlite".to_owned(),
            baseline,
            unit: "calls/s".to_owned(),
            growth,
            runs: rates
                .iter()
                .zip(p99s)
                .map(|(rate, p99)| RunFigures {
                    calls: 1,
                    items: 1,
                    seconds: 1.0,
                    rate: *rate,
                    p50_ms: 0.0,
                    p95_ms: 0.0,
                    p99_ms: *p99,
                    p999_ms: 0.0,
                    errors: BTreeMap::new(),
                    processes: Vec::new(),
                })
                .collect(),
            checks: Vec::new(),
            notes: Vec::new(),
        }
    }

    #[test]
    fn targets_compare_medians_of_the_runs() {
        let mut report = Report::default();
        // Medians: 300 against 100 (one slow run does not count), p99 2 against 10.
        report.add(measure(
            "op",
            false,
            &[300.0, 10.0, 310.0],
            &[2.0, 50.0, 1.0],
        ));
        report.add(measure(
            "raw",
            true,
            &[100.0, 90.0, 110.0],
            &[10.0, 10.0, 10.0],
        ));
        let target = |figure, bound| Target {
            scenario: "s",
            measure: "op",
            baseline: "raw",
            figure,
            bound,
            backend: None,
        };
        report.judge(&[
            target(Figure::Rate, 3.0),
            target(Figure::Rate, 3.5),
            target(Figure::P99, 0.2),
            target(Figure::P99, 0.1),
        ]);
        let verdicts: Vec<(f64, bool)> = report.verdicts.iter().map(|v| (v.ratio, v.met)).collect();
        assert_eq!(
            verdicts,
            [(3.0, true), (3.0, false), (0.2, true), (0.2, false)]
        );
    }

    #[test]
    fn a_measure_without_a_target_is_a_ratio_to_its_scenarios_one_baseline() {
        let mut report = Report::default();
        report.add(measure("op", false, &[50.0], &[20.0]));
        report.add(measure("raw", true, &[200.0], &[10.0]));
        report.judge(&[]);
        let ratios: Vec<(&str, f64, f64)> = report
            .ratios
            .iter()
            .map(|r| (r.baseline.as_str(), r.rate, r.p99))
            .collect();
        assert_eq!(ratios, [("raw", 0.25, 2.0)]);
        // Two baselines: which one is meant is a target's to say.
        report.add(measure("other raw", true, &[100.0], &[10.0]));
        report.judge(&[]);
        assert!(report.ratios.is_empty());
    }

    #[test]
    fn runs_of_one_measure_are_added_together() {
        let mut report = Report::default();
        report.add(measure("op", false, &[1.0], &[1.0]));
        report.add(measure("op", false, &[3.0], &[1.0]));
        report.add(measure("op", false, &[2.0], &[1.0]));
        assert_eq!(report.measures.len(), 1);
        assert!((report.measures[0].rate() - 2.0).abs() < f64::EPSILON);
    }

    #[test]
    fn growth_compares_each_measure_with_itself_at_one() {
        let mut report = Report::default();
        report.add(grown("op", false, 1, &[400.0], &[5.0]));
        report.add(grown("op", false, 10, &[200.0], &[10.0]));
        report.add(grown("op", false, 100, &[100.0], &[20.0]));
        // Another measure at ×10 only: nothing to compare it with.
        report.add(grown("other", false, 10, &[1.0], &[1.0]));
        report.compare_growth();
        let changes: Vec<(u32, f64, f64)> = report
            .growth
            .iter()
            .map(|c| (c.growth, c.rate, c.p99))
            .collect();
        assert_eq!(changes, [(10, 0.5, 2.0), (100, 0.25, 4.0)]);
        assert!(report.table().contains("rate vs ×1"));
    }
}
