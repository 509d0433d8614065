//! A Prometheus exporter's two halves, shared by every command that serves
//! metrics (`lifesign metrics`, and any other that registers families): a
//! [`Registry`] of metric families rendered to the OpenMetrics 1.0 text
//! format or to the classic text format 0.0.4, chosen from the scraper's
//! Accept header ([`Format::negotiate`]); and `http`, the scrape endpoint.
//!
//! Names and types follow the OpenMetrics specification
//! (<https://prometheus.io/docs/specs/om/open_metrics_spec/>): a counter
//! family `x` exposes `x_total`; a state set exposes one sample per state,
//! labelled with the family's own name; a family with a unit ends with it.

pub mod http;

/// What a family measures, as its `# TYPE` line says.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Kind {
    Gauge,
    Counter,
    /// One sample per state, 1 for the current one and 0 for the others.
    StateSet,
}

/// A sample's value.
#[derive(Clone, Copy, Debug)]
pub enum Number {
    Int(u64),
    Float(f64),
}

impl std::fmt::Display for Number {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match *self {
            Number::Int(n) => write!(f, "{n}"),
            Number::Float(x) if x.is_nan() => f.write_str("NaN"),
            Number::Float(x) if x.is_infinite() => {
                f.write_str(if x > 0.0 { "+Inf" } else { "-Inf" })
            }
            Number::Float(x) => write!(f, "{x}"),
        }
    }
}

/// Label pairs, in the order they are written.
pub type Labels = Vec<(&'static str, String)>;

/// One metric family: its name, help, type, unit and samples.
pub struct Family {
    name: &'static str,
    help: &'static str,
    kind: Kind,
    unit: Option<&'static str>,
    states: &'static [&'static str],
    samples: Vec<(Labels, Number)>,
}

impl Family {
    fn new(name: &'static str, kind: Kind, help: &'static str) -> Family {
        debug_assert!(valid_name(name), "{name}");
        Family {
            name,
            help,
            kind,
            unit: None,
            states: &[],
            samples: Vec::new(),
        }
    }

    pub fn gauge(name: &'static str, help: &'static str) -> Family {
        Family::new(name, Kind::Gauge, help)
    }

    /// A counter family `name` (without `_total`: its samples get it).
    pub fn counter(name: &'static str, help: &'static str) -> Family {
        debug_assert!(!name.ends_with("_total"), "{name}");
        Family::new(name, Kind::Counter, help)
    }

    /// A state set whose samples say which of `states` is current.
    pub fn state_set(
        name: &'static str,
        help: &'static str,
        states: &'static [&'static str],
    ) -> Family {
        Family {
            states,
            ..Family::new(name, Kind::StateSet, help)
        }
    }

    /// The unit, which the name ends with (`seconds`).
    pub fn unit(mut self, unit: &'static str) -> Family {
        debug_assert!(self.name.ends_with(&format!("_{unit}")), "{}", self.name);
        self.unit = Some(unit);
        self
    }

    /// A gauge's or a counter's sample.
    pub fn set(&mut self, labels: Labels, value: Number) {
        debug_assert!(self.kind != Kind::StateSet);
        self.samples.push((labels, value));
    }

    /// A state set's samples: `current` (one of its states, or none) is 1,
    /// every other state 0.
    pub fn state(&mut self, labels: &Labels, current: Option<&str>) {
        debug_assert!(self.kind == Kind::StateSet);
        debug_assert!(current.is_none_or(|c| self.states.contains(&c)));
        for &s in self.states {
            let mut l = labels.clone();
            l.push((self.name, s.to_string()));
            self.samples
                .push((l, Number::Int(u64::from(current == Some(s)))));
        }
    }
}

/// A metric name as OpenMetrics and Prometheus both accept it.
fn valid_name(name: &str) -> bool {
    let mut bytes = name.bytes();
    bytes
        .next()
        .is_some_and(|b| b.is_ascii_alphabetic() || b == b'_')
        && bytes.all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

/// The two text formats a scraper may ask for.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Format {
    /// `application/openmetrics-text; version=1.0.0`.
    OpenMetrics,
    /// `text/plain; version=0.0.4`, Prometheus' classic text format.
    Text,
}

impl Format {
    pub fn content_type(self) -> &'static str {
        match self {
            Format::OpenMetrics => "application/openmetrics-text; version=1.0.0; charset=utf-8",
            Format::Text => "text/plain; version=0.0.4; charset=utf-8",
        }
    }

    /// The format for an Accept header: the classic text format only when
    /// the scraper prefers `text/plain` to `application/openmetrics-text`
    /// (by q-value, RFC 9110 section 12.5.1); OpenMetrics otherwise, with
    /// no header or a wildcard too.
    pub fn negotiate(accept: Option<&str>) -> Format {
        let Some(accept) = accept else {
            return Format::OpenMetrics;
        };
        // The highest q of the ranges that name each type exactly, else of
        // the wildcards that cover it.
        let (mut om, mut text, mut wild) = (None::<f32>, None::<f32>, None::<f32>);
        for range in accept.split(',') {
            let mut parts = range.split(';');
            let media = parts.next().unwrap_or("").trim().to_ascii_lowercase();
            let q = parts
                .filter_map(|p| p.split_once('='))
                .find(|(k, _)| k.trim().eq_ignore_ascii_case("q"))
                .map_or(Some(1.0), |(_, v)| v.trim().parse::<f32>().ok())
                .unwrap_or(0.0);
            let slot = match media.as_str() {
                "application/openmetrics-text" => &mut om,
                "text/plain" => &mut text,
                "*/*" | "text/*" | "application/*" => &mut wild,
                _ => continue,
            };
            *slot = Some(slot.map_or(q, |old| old.max(q)));
        }
        let om = om.or(wild).unwrap_or(0.0);
        let text = text.or(wild).unwrap_or(0.0);
        if text > om {
            Format::Text
        } else {
            Format::OpenMetrics
        }
    }
}

/// The families of one scrape, in the order they are written.
#[derive(Default)]
pub struct Registry {
    families: Vec<Family>,
}

impl Registry {
    pub fn new() -> Registry {
        Registry::default()
    }

    pub fn push(&mut self, family: Family) {
        debug_assert!(
            self.families.iter().all(|f| f.name != family.name),
            "{} twice",
            family.name
        );
        self.families.push(family);
    }

    /// The exposition in `format`: `# EOF` ends an OpenMetrics one.
    pub fn render(&self, format: Format) -> String {
        use std::fmt::Write;
        let mut out = String::new();
        for f in &self.families {
            // The classic format has no counter family name and no state
            // sets: the TYPE line names the `_total` series, a state set is
            // a gauge, and there is no UNIT line.
            let (name, kind) = match (format, f.kind) {
                (Format::Text, Kind::Counter) => (format!("{}_total", f.name), "counter"),
                (_, Kind::Counter) => (f.name.to_string(), "counter"),
                (Format::Text, Kind::StateSet) => (f.name.to_string(), "gauge"),
                (_, Kind::StateSet) => (f.name.to_string(), "stateset"),
                (_, Kind::Gauge) => (f.name.to_string(), "gauge"),
            };
            let help = escape(f.help, format == Format::OpenMetrics);
            let _ = writeln!(out, "# HELP {name} {help}");
            let _ = writeln!(out, "# TYPE {name} {kind}");
            if let (Format::OpenMetrics, Some(unit)) = (format, f.unit) {
                let _ = writeln!(out, "# UNIT {name} {unit}");
            }
            let series = match f.kind {
                Kind::Counter => format!("{}_total", f.name),
                _ => f.name.to_string(),
            };
            for (labels, value) in &f.samples {
                out += &series;
                if !labels.is_empty() {
                    out.push('{');
                    for (i, (k, v)) in labels.iter().enumerate() {
                        if i > 0 {
                            out.push(',');
                        }
                        let _ = write!(out, "{k}=\"{}\"", escape(v, true));
                    }
                    out.push('}');
                }
                let _ = writeln!(out, " {value}");
            }
        }
        if format == Format::OpenMetrics {
            out += "# EOF\n";
        }
        out
    }
}

/// A label value (and an OpenMetrics HELP text): `\`, `"` and line feeds
/// escaped. The classic format's HELP escapes only `\` and line feeds.
fn escape(s: &str, quote: bool) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\\' => out += "\\\\",
            '\n' => out += "\\n",
            '"' if quote => out += "\\\"",
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accept_headers_choose_the_format() {
        use Format::*;
        // Prometheus 2.x's scrape header.
        let prom = "application/openmetrics-text;version=1.0.0,application/openmetrics-text;\
                    version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1";
        assert_eq!(Format::negotiate(Some(prom)), OpenMetrics);
        // Prometheus 1.x and client libraries' scrapers.
        assert_eq!(
            Format::negotiate(Some("text/plain;version=0.0.4;q=0.3,*/*;q=0.1")),
            Text
        );
        assert_eq!(Format::negotiate(Some("text/plain")), Text);
        assert_eq!(Format::negotiate(None), OpenMetrics);
        assert_eq!(Format::negotiate(Some("*/*")), OpenMetrics);
        assert_eq!(
            Format::negotiate(Some("application/openmetrics-text;q=0, text/plain")),
            Text
        );
        assert_eq!(Format::negotiate(Some("application/json")), OpenMetrics);
    }

    #[test]
    fn both_formats_of_every_kind() {
        let mut reg = Registry::new();
        let mut c = Family::counter("x_events", "events.");
        c.set(vec![("a", "1".into())], Number::Int(3));
        reg.push(c);
        let mut s = Family::state_set("x_mode", "the mode.", &["on", "off"]);
        s.state(&vec![("a", "1".into())], Some("off"));
        reg.push(s);
        let mut g = Family::gauge("x_age_seconds", "age \\ \"quoted\"\nnext.").unit("seconds");
        g.set(vec![], Number::Float(0.25));
        reg.push(g);
        assert_eq!(
            reg.render(Format::OpenMetrics),
            "# HELP x_events events.\n# TYPE x_events counter\nx_events_total{a=\"1\"} 3\n\
             # HELP x_mode the mode.\n# TYPE x_mode stateset\n\
             x_mode{a=\"1\",x_mode=\"on\"} 0\nx_mode{a=\"1\",x_mode=\"off\"} 1\n\
             # HELP x_age_seconds age \\\\ \\\"quoted\\\"\\nnext.\n# TYPE x_age_seconds gauge\n\
             # UNIT x_age_seconds seconds\nx_age_seconds 0.25\n# EOF\n"
        );
        assert_eq!(
            reg.render(Format::Text),
            "# HELP x_events_total events.\n# TYPE x_events_total counter\nx_events_total{a=\"1\"} 3\n\
             # HELP x_mode the mode.\n# TYPE x_mode gauge\n\
             x_mode{a=\"1\",x_mode=\"on\"} 0\nx_mode{a=\"1\",x_mode=\"off\"} 1\n\
             # HELP x_age_seconds age \\\\ \"quoted\"\\nnext.\n# TYPE x_age_seconds gauge\n\
             x_age_seconds 0.25\n"
        );
    }

    #[test]
    fn numbers_as_the_formats_spell_them() {
        assert_eq!(Number::Float(f64::INFINITY).to_string(), "+Inf");
        assert_eq!(Number::Float(f64::NEG_INFINITY).to_string(), "-Inf");
        assert_eq!(Number::Float(f64::NAN).to_string(), "NaN");
        assert_eq!(Number::Float(1.5).to_string(), "1.5");
        assert_eq!(Number::Int(u64::MAX).to_string(), "18446744073709551615");
    }
}
