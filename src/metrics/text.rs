//! The Prometheus text exposition format (version 0.0.4), as much of it as counters, gauges and
//! one histogram need: `# HELP` and `# TYPE` once per family, then `name{label="value"} number`
//! lines; histograms as cumulative `_bucket{le=…}` lines ending in `+Inf`, then `_sum` and
//! `_count`. Help text escapes `\` and line feeds; label values also escape `"`.

use std::fmt::{Display, Write as _};

use super::HistogramSnapshot;

/// The exposition being written. Infallible: it writes into a `String`.
#[derive(Default)]
pub(super) struct Exposition {
    out: String,
}

impl Exposition {
    /// Starts a metric family: its help text and type.
    pub fn family(&mut self, name: &str, kind: &str, help: &str) {
        let help = help.replace('\\', "\\\\").replace('\n', "\\n");
        let _ = writeln!(self.out, "# HELP {name} {help}");
        let _ = writeln!(self.out, "# TYPE {name} {kind}");
    }

    /// One sample line.
    pub fn sample(&mut self, name: &str, labels: &[(&str, &str)], value: impl Display) {
        self.out.push_str(name);
        if !labels.is_empty() {
            self.out.push('{');
            for (i, (label, value)) in labels.iter().enumerate() {
                if i > 0 {
                    self.out.push(',');
                }
                let _ = write!(self.out, "{label}=\"{}\"", escape_label(value));
            }
            self.out.push('}');
        }
        let _ = writeln!(self.out, " {value}");
    }

    /// A histogram's samples: cumulative buckets for each upper bound, `+Inf`, sum and count.
    pub fn histogram(&mut self, name: &str, bounds: &[f64], snapshot: &HistogramSnapshot) {
        let bucket = format!("{name}_bucket");
        let mut cumulative = 0;
        for (bound, count) in bounds.iter().zip(&snapshot.buckets) {
            cumulative += count;
            self.sample(&bucket, &[("le", &bound.to_string())], cumulative);
        }
        let count = cumulative + snapshot.overflow;
        self.sample(&bucket, &[("le", "+Inf")], count);
        self.sample(&format!("{name}_sum"), &[], snapshot.sum_seconds);
        self.sample(&format!("{name}_count"), &[], count);
    }

    pub fn finish(self) -> String {
        self.out
    }
}

fn escape_label(value: &str) -> String {
    value
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_counter_family_has_help_type_and_labelled_samples() {
        let mut out = Exposition::default();
        out.family("x_total", "counter", "How many.");
        out.sample("x_total", &[("event", "a"), ("op", "b")], 3u64);
        out.sample("x_total", &[], 0u64);
        assert_eq!(
            out.finish(),
            "# HELP x_total How many.\n\
             # TYPE x_total counter\n\
             x_total{event=\"a\",op=\"b\"} 3\n\
             x_total 0\n"
        );
    }

    #[test]
    fn help_and_label_values_are_escaped() {
        let mut out = Exposition::default();
        out.family("g", "gauge", "back\\slash\nnew line \"quoted\"");
        out.sample("g", &[("l", "a\"b\\c\nd")], -1i64);
        assert_eq!(
            out.finish(),
            "# HELP g back\\\\slash\\nnew line \"quoted\"\n\
             # TYPE g gauge\n\
             g{l=\"a\\\"b\\\\c\\nd\"} -1\n"
        );
    }

    #[test]
    fn histogram_buckets_are_cumulative_and_end_with_inf_sum_and_count() {
        let snapshot = HistogramSnapshot {
            buckets: [1, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1],
            overflow: 2,
            sum_seconds: 41.5,
        };
        let bounds = [
            0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
        ];
        let mut out = Exposition::default();
        out.histogram("h_seconds", &bounds, &snapshot);
        let text = out.finish();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[0], "h_seconds_bucket{le=\"0.001\"} 1");
        assert_eq!(lines[1], "h_seconds_bucket{le=\"0.0025\"} 1");
        assert_eq!(lines[2], "h_seconds_bucket{le=\"0.005\"} 3");
        assert_eq!(lines[9], "h_seconds_bucket{le=\"1\"} 3");
        assert_eq!(lines[12], "h_seconds_bucket{le=\"10\"} 4");
        assert_eq!(lines[13], "h_seconds_bucket{le=\"+Inf\"} 6");
        assert_eq!(lines[14], "h_seconds_sum 41.5");
        assert_eq!(lines[15], "h_seconds_count 6");
        assert_eq!(lines.len(), 16);
    }

    #[test]
    fn every_sample_line_parses_as_name_labels_and_a_number() {
        let mut out = Exposition::default();
        out.family("a_total", "counter", "h");
        out.sample("a_total", &[("k", "v")], 18_446_744_073_709_551_615u64);
        out.sample("b", &[], 0.000_001f64);
        for line in out.finish().lines().filter(|l| !l.starts_with('#')) {
            let (series, value) = line.rsplit_once(' ').unwrap();
            assert!(value.parse::<f64>().is_ok(), "{line}");
            assert!(!value.contains('e'), "no exponent notation: {line}");
            let name = series.split('{').next().unwrap();
            assert!(
                name.chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':'),
                "{line}"
            );
        }
    }
}
