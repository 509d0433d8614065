//! `lifesign metrics`: the exposition read by a parser that follows the
//! OpenMetrics and classic text formats, the HTTP endpoint's answers, and a
//! real Prometheus (Debian's `prometheus`, installed by
//! tests/metrics/setup.sh) scraping it with the config of docs/METRICS.md.
//! Without Prometheus the scrape test reports itself skipped, unless
//! `LIFESIGN_REQUIRE_PROMETHEUS=1` (as `make test-rust` sets it).

mod common;

use common::{cli, eventually, within, Child, TempDir};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

// ---- the exporter, and an HTTP client ----------------------------------------

/// `lifesign metrics --listen 127.0.0.1:0 ARGS...`, once it listens;
/// stopped with SIGTERM when dropped.
struct Exporter {
    child: std::process::Child,
    addr: String,
}

impl Exporter {
    fn start(args: &[&str]) -> Exporter {
        let mut child = Command::new(cli())
            .args(["metrics", "--listen", "127.0.0.1:0"])
            .args(args)
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let mut out = BufReader::new(child.stdout.take().unwrap());
        let line = within(60, "the exporter's first line", move || {
            let mut l = String::new();
            out.read_line(&mut l).unwrap();
            l
        });
        let addr = line
            .trim()
            .strip_prefix("listening on http://")
            .and_then(|a| a.strip_suffix("/metrics"))
            .unwrap_or_else(|| panic!("unexpected first line {line:?}"))
            .to_string();
        Exporter { child, addr }
    }

    fn get(&self, accept: Option<&str>) -> Response {
        let accept = accept
            .map(|a| format!("Accept: {a}\r\n"))
            .unwrap_or_default();
        request(
            &self.addr,
            &format!("GET /metrics HTTP/1.1\r\nHost: x\r\n{accept}\r\n"),
        )
    }

    /// Sends `sig` and returns the exit status.
    fn stop(mut self, sig: i32) -> std::process::ExitStatus {
        // SAFETY: a signal to our own child.
        unsafe { libc::kill(self.child.id() as i32, sig) };
        let mut child = std::mem::replace(&mut self.child, Command::new("true").spawn().unwrap());
        within(60, "the exporter's exit", move || child.wait().unwrap())
    }
}

impl Drop for Exporter {
    fn drop(&mut self) {
        // SAFETY: a signal to our own child.
        unsafe { libc::kill(self.child.id() as i32, libc::SIGTERM) };
        let _ = self.child.wait();
    }
}

struct Response {
    status: u16,
    headers: Vec<(String, String)>,
    body: String,
}

impl Response {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// Sends `raw` to `addr` and reads the answer to the end (the server
/// closes every connection).
fn request(addr: &str, raw: &str) -> Response {
    let (addr, raw) = (addr.to_string(), raw.to_string());
    within(60, "an HTTP answer", move || {
        let mut s = TcpStream::connect(&addr).unwrap();
        s.write_all(raw.as_bytes()).unwrap();
        let mut bytes = Vec::new();
        s.read_to_end(&mut bytes).unwrap();
        let text = String::from_utf8(bytes).unwrap();
        let (head, body) = text.split_once("\r\n\r\n").expect("a head");
        let mut lines = head.split("\r\n");
        let status = lines
            .next()
            .unwrap()
            .split(' ')
            .nth(1)
            .unwrap()
            .parse()
            .unwrap();
        let headers = lines
            .map(|l| {
                let (k, v) = l.split_once(':').unwrap();
                (k.trim().to_string(), v.trim().to_string())
            })
            .collect();
        Response {
            status,
            headers,
            body: body.to_string(),
        }
    })
}

// ---- a reader of the two exposition formats ----------------------------------

#[derive(Debug)]
struct Sample {
    family: String,
    name: String,
    labels: Vec<(String, String)>,
    value: f64,
}

impl Sample {
    fn label(&self, k: &str) -> Option<&str> {
        self.labels
            .iter()
            .find(|(n, _)| n == k)
            .map(|(_, v)| v.as_str())
    }
}

/// Reads an exposition as the format's grammar says, failing on anything
/// it does not allow: HELP and TYPE (and UNIT, in OpenMetrics) before a
/// family's samples, samples named after their family (`_total` for a
/// counter), state sets labelled with their own name, escaped label
/// values, and `# EOF` at the end of OpenMetrics only. Returns the samples
/// and each family's type.
fn parse(body: &str, open_metrics: bool) -> (Vec<Sample>, Vec<(String, String)>) {
    let mut samples = Vec::new();
    let mut types: Vec<(String, String)> = Vec::new();
    let mut helped: Option<String> = None;
    let mut lines: Vec<&str> = body.split('\n').collect();
    assert_eq!(lines.pop(), Some(""), "the body ends with a line feed");
    if open_metrics {
        assert_eq!(lines.pop(), Some("# EOF"), "OpenMetrics ends with # EOF");
    }
    for line in lines {
        if let Some(rest) = line.strip_prefix("# ") {
            let (kw, rest) = rest.split_once(' ').expect(line);
            let (name, text) = rest.split_once(' ').expect(line);
            match kw {
                "HELP" => {
                    assert!(!text.is_empty() && !text.contains('\n'));
                    helped = Some(name.to_string());
                }
                "TYPE" => {
                    assert_eq!(helped.as_deref(), Some(name), "HELP before TYPE: {line}");
                    let allowed: &[&str] = if open_metrics {
                        &["gauge", "counter", "stateset"]
                    } else {
                        &["gauge", "counter"]
                    };
                    assert!(allowed.contains(&text), "{line}");
                    assert!(!types.iter().any(|(n, _)| n == name), "family {name} twice");
                    types.push((name.to_string(), text.to_string()));
                }
                "UNIT" => {
                    assert!(open_metrics, "UNIT in the classic format: {line}");
                    let (family, _) = types.last().expect(line);
                    assert_eq!(family, name);
                    assert!(name.ends_with(&format!("_{text}")), "{line}");
                }
                _ => panic!("unknown comment {line:?}"),
            }
            continue;
        }
        assert!(!line.starts_with('#'), "{line}");
        let (family, kind) = types.last().expect("a sample before any TYPE");
        let end = line.find(['{', ' ']).expect(line);
        let name = &line[..end];
        let expected = match (kind.as_str(), open_metrics) {
            ("counter", true) => format!("{family}_total"),
            _ => family.clone(),
        };
        assert_eq!(name, expected, "sample of another family: {line}");
        let mut rest = &line[end..];
        let mut labels = Vec::new();
        if let Some(r) = rest.strip_prefix('{') {
            let (parsed, after) = parse_labels(r);
            labels = parsed;
            rest = after;
        }
        let value = rest.strip_prefix(' ').expect(line);
        let value: f64 = match value {
            "+Inf" => f64::INFINITY,
            "-Inf" => f64::NEG_INFINITY,
            v => v.parse().unwrap_or_else(|_| panic!("value of {line:?}")),
        };
        if kind == "stateset" {
            assert!(labels.iter().any(|(k, _)| k == family), "{line}");
            assert!(value == 0.0 || value == 1.0, "{line}");
        }
        samples.push(Sample {
            family: family.clone(),
            name: name.to_string(),
            labels,
            value,
        });
    }
    (samples, types)
}

/// `name="value",...}` and what follows the `}`.
fn parse_labels(mut s: &str) -> (Vec<(String, String)>, &str) {
    let mut labels = Vec::new();
    loop {
        let (name, rest) = s.split_once("=\"").expect(s);
        assert!(
            !name.is_empty() && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_'),
            "label name {name:?}"
        );
        let mut value = String::new();
        let mut chars = rest.char_indices();
        let end = loop {
            match chars.next().expect("an unterminated label value") {
                (_, '\\') => match chars.next().expect("an escape").1 {
                    '\\' => value.push('\\'),
                    '"' => value.push('"'),
                    'n' => value.push('\n'),
                    c => panic!("escape \\{c}"),
                },
                (_, '\n') => panic!("a raw line feed in a label value"),
                (i, '"') => break i,
                (_, c) => value.push(c),
            }
        };
        labels.push((name.to_string(), value));
        let after = &rest[end + 1..];
        if let Some(a) = after.strip_prefix('}') {
            return (labels, a);
        }
        s = after.strip_prefix(',').expect(after);
    }
}

/// The one sample of `name` with these labels.
fn value(samples: &[Sample], name: &str, labels: &[(&str, &str)]) -> f64 {
    let found: Vec<&Sample> = samples
        .iter()
        .filter(|s| s.name == name && labels.iter().all(|(k, v)| s.label(k) == Some(v)))
        .collect();
    assert_eq!(found.len(), 1, "{name} {labels:?} in {samples:#?}");
    found[0].value
}

/// The verdict whose state-set sample is 1.
fn verdict_of(samples: &[Sample], heartbeat: &str) -> String {
    let on: Vec<&Sample> = samples
        .iter()
        .filter(|s| s.family == "lifesign_verdict" && s.label("name") == Some(heartbeat))
        .filter(|s| s.value == 1.0)
        .collect();
    assert_eq!(on.len(), 1, "one verdict of {heartbeat}: {on:?}");
    on[0].label("lifesign_verdict").unwrap().to_string()
}

// ---- the exposition ------------------------------------------------------------

#[test]
fn both_formats_parse_and_odd_file_names_are_escaped() {
    let dir = TempDir::new("metrics-odd");
    let odd = "we\"ird\\name\nwith a line feed";
    let mut app = Child::emitter(&dir.path("app.json"), 1000);
    app.send("ready up");
    app.send("progress");
    app.send("beat");
    let mut strange = Child::emitter(&dir.path(&format!("{odd}.json")), 1000);
    std::fs::write(dir.path("junk.json"), "not a heartbeat").unwrap();
    let ex = Exporter::start(&["--host-id", "web1", dir.dir().to_str().unwrap()]);

    // Prometheus' own Accept header, then none: OpenMetrics.
    for accept in [
        Some("application/openmetrics-text;version=1.0.0,text/plain;version=0.0.4;q=0.5,*/*;q=0.1"),
        None,
    ] {
        let r = ex.get(accept);
        assert_eq!(r.status, 200);
        assert_eq!(
            r.header("content-type"),
            Some("application/openmetrics-text; version=1.0.0; charset=utf-8")
        );
        assert_eq!(
            r.header("content-length"),
            Some(r.body.len().to_string().as_str())
        );
        let (samples, types) = parse(&r.body, true);
        let ty = |n: &str| types.iter().find(|(f, _)| f == n).map(|(_, t)| t.as_str());
        assert_eq!(ty("lifesign_verdict"), Some("stateset"));
        assert_eq!(ty("lifesign_state"), Some("stateset"));
        assert_eq!(ty("lifesign_seq"), Some("counter"));
        assert_eq!(ty("lifesign_progress"), Some("counter"));
        assert_eq!(ty("lifesign_age_seconds"), Some("gauge"));
        assert_eq!(verdict_of(&samples, "app"), "alive");
        assert_eq!(verdict_of(&samples, odd), "alive");
        assert_eq!(verdict_of(&samples, "junk"), "invalid");
        let app = [("host", "web1"), ("name", "app")];
        let ready = [app[0], app[1], ("lifesign_state", "ready")];
        assert_eq!(value(&samples, "lifesign_state", &ready), 1.0);
        assert_eq!(value(&samples, "lifesign_progress_total", &app), 1.0);
        assert!(value(&samples, "lifesign_seq_total", &app) >= 2.0);
        assert!(value(&samples, "lifesign_age_seconds", &app) >= 0.0);
        assert!(value(&samples, "lifesign_progress_age_seconds", &app) >= 0.0);
        // No age, seq or progress for a file that holds no heartbeat.
        assert!(!samples
            .iter()
            .any(|s| s.name == "lifesign_age_seconds" && s.label("name") == Some("junk")));
        let folder = dir.dir().to_str().unwrap();
        assert_eq!(
            value(&samples, "lifesign_files", &[("folder", folder)]),
            3.0
        );
        assert_eq!(
            value(&samples, "lifesign_folder_listed", &[("folder", folder)]),
            1.0
        );
        // One folder: no folder label on the heartbeats.
        assert!(samples
            .iter()
            .filter(|s| s.family == "lifesign_verdict")
            .all(|s| s.label("folder").is_none()));
        value(&samples, "lifesign_scrape_duration_seconds", &[]);
    }

    // A scraper that prefers the classic format gets it.
    let r = ex.get(Some("text/plain;version=0.0.4;q=0.3,*/*;q=0.1"));
    assert_eq!(
        r.header("content-type"),
        Some("text/plain; version=0.0.4; charset=utf-8")
    );
    let (samples, types) = parse(&r.body, false);
    assert!(types.contains(&("lifesign_seq_total".into(), "counter".into())));
    assert!(types.contains(&("lifesign_verdict".into(), "gauge".into())));
    assert_eq!(verdict_of(&samples, odd), "alive");

    // Stopped at once: the next scrape says so.
    strange.send("stop");
    let (samples, _) = parse(&ex.get(None).body, true);
    assert_eq!(verdict_of(&samples, odd), "stopped");
}

#[test]
fn two_folders_holding_the_same_name_are_told_apart_by_the_folder_label() {
    let (a, b) = (TempDir::new("metrics-a"), TempDir::new("metrics-b"));
    let mut live = Child::emitter(&a.path("api.json"), 1000);
    live.send("ready");
    let mut gone = Child::emitter(&b.path("api.json"), 1000);
    gone.send("failed crashed");
    let (fa, fb) = (a.dir().to_str().unwrap(), b.dir().to_str().unwrap());
    let ex = Exporter::start(&[fa, fb]);
    let (samples, _) = parse(&ex.get(None).body, true);
    let alive = |folder| {
        [
            ("name", "api"),
            ("folder", folder),
            ("lifesign_verdict", "alive"),
        ]
    };
    let failed = |folder| {
        [
            ("name", "api"),
            ("folder", folder),
            ("lifesign_verdict", "failed"),
        ]
    };
    assert_eq!(value(&samples, "lifesign_verdict", &alive(fa)), 1.0);
    assert_eq!(value(&samples, "lifesign_verdict", &failed(fb)), 1.0);
    assert_eq!(value(&samples, "lifesign_verdict", &alive(fb)), 0.0);

    // A folder that goes away is reported, and the exporter keeps serving.
    let away = PathBuf::from(format!("{fb}.away"));
    std::fs::rename(fb, &away).unwrap();
    let (samples, _) = parse(&ex.get(None).body, true);
    std::fs::rename(&away, fb).unwrap();
    assert_eq!(
        value(&samples, "lifesign_folder_listed", &[("folder", fb)]),
        0.0
    );
    assert_eq!(
        value(&samples, "lifesign_folder_listed", &[("folder", fa)]),
        1.0
    );
    assert!(!samples
        .iter()
        .any(|s| s.label("folder") == Some(fb) && s.family == "lifesign_verdict"));
}

// ---- the endpoint --------------------------------------------------------------

#[test]
fn only_get_and_head_of_metrics_are_answered() {
    let dir = TempDir::new("metrics-http");
    let ex = Exporter::start(&[dir.dir().to_str().unwrap()]);
    let head = request(&ex.addr, "HEAD /metrics HTTP/1.1\r\nHost: x\r\n\r\n");
    assert_eq!(head.status, 200);
    assert!(head.body.is_empty(), "HEAD has no body");
    assert!(
        head.header("content-length")
            .unwrap()
            .parse::<usize>()
            .unwrap()
            > 0
    );
    assert_eq!(
        request(&ex.addr, "GET /metrics?x=1 HTTP/1.0\r\n\r\n").status,
        200
    );
    for path in ["/", "/metric", "/metrics/", "/favicon.ico"] {
        let r = request(&ex.addr, &format!("GET {path} HTTP/1.1\r\nHost: x\r\n\r\n"));
        assert_eq!(r.status, 404, "{path}");
    }
    let post = request(
        &ex.addr,
        "POST /metrics HTTP/1.1\r\nContent-Length: 0\r\n\r\n",
    );
    assert_eq!(post.status, 405);
    assert_eq!(post.header("allow"), Some("GET, HEAD"));
    assert_eq!(request(&ex.addr, "nonsense\r\n\r\n").status, 400);
    let huge = format!("GET /metrics HTTP/1.1\r\nX: {}\r\n\r\n", "a".repeat(20_000));
    assert_eq!(request(&ex.addr, &huge).status, 431);
}

#[test]
fn clients_that_send_nothing_do_not_hold_up_a_scrape() {
    let dir = TempDir::new("metrics-slow");
    let ex = Exporter::start(&[dir.dir().to_str().unwrap()]);
    // More silent connections than the server serves at once.
    let silent: Vec<TcpStream> = (0..40)
        .map(|_| TcpStream::connect(&ex.addr).unwrap())
        .collect();
    let half = TcpStream::connect(&ex.addr).unwrap();
    (&half).write_all(b"GET /metrics HTTP/1.1\r\n").unwrap();
    // A scrape is answered (503 while every slot is held is an answer
    // too; it never waits for the silent ones).
    let r = ex.get(None);
    assert!(r.status == 200 || r.status == 503, "{}", r.status);
    drop(silent);
    drop(half);
    eventually("a scrape answered 200 once the silent clients left", || {
        std::thread::sleep(Duration::from_millis(20));
        ex.get(None).status == 200
    });
}

#[test]
fn bad_addresses_and_folders_are_usage_errors() {
    let dir = TempDir::new("metrics-usage");
    let folder = dir.dir().to_str().unwrap();
    let taken = TcpListener::bind("127.0.0.1:0").unwrap();
    let taken = taken.local_addr().unwrap().to_string();
    let missing = dir.path("nope");
    for (args, says) in [
        (
            vec!["--listen", ":9464", folder],
            "not an address to listen on",
        ),
        (
            vec!["--listen", "9464", folder],
            "not an address to listen on",
        ),
        (
            vec!["--listen", "127.0.0.1:99999", folder],
            "not an address to listen on",
        ),
        (
            vec!["--listen", "no-such-host.invalid:9464", folder],
            "not an address to listen on",
        ),
        (vec!["--listen", &taken, folder], "cannot listen on"),
        (vec!["--listen", "127.0.0.1:0"], "missing FOLDER"),
        (vec![folder], "missing --listen"),
        (
            vec!["--listen", "127.0.0.1:0", missing.to_str().unwrap()],
            "cannot list",
        ),
        (
            vec!["--listen", "127.0.0.1:0", "--bogus", folder],
            "unknown option --bogus",
        ),
    ] {
        let out = Command::new(cli())
            .arg("metrics")
            .args(&args)
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        assert!(
            err.starts_with("lifesign metrics: ") && err.contains(says),
            "{args:?}: {err}"
        );
    }
    let help = Command::new(cli())
        .args(["metrics", "--help"])
        .output()
        .unwrap();
    assert!(help.status.success());
    assert!(String::from_utf8_lossy(&help.stdout).contains("Usage: lifesign metrics --listen ADDR"));
}

#[test]
fn sigterm_and_sigint_stop_it_with_status_0() {
    let dir = TempDir::new("metrics-stop");
    for sig in [libc::SIGTERM, libc::SIGINT] {
        let ex = Exporter::start(&[dir.dir().to_str().unwrap()]);
        assert_eq!(ex.get(None).status, 200);
        let addr = ex.addr.clone();
        let status = ex.stop(sig);
        assert_eq!(status.code(), Some(0), "signal {sig}");
        assert!(
            TcpStream::connect(&addr).is_err(),
            "still listening after signal {sig}"
        );
    }
}

// ---- a real Prometheus ------------------------------------------------------------

fn prometheus() -> Option<PathBuf> {
    let found = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|p| p.join("prometheus"))
            .find(|p| p.is_file())
    });
    if found.is_none() {
        assert!(
            std::env::var_os("LIFESIGN_REQUIRE_PROMETHEUS").is_none(),
            "prometheus is missing: run tests/metrics/setup.sh as root"
        );
        eprintln!("skipped: prometheus is missing (tests/metrics/setup.sh installs it)");
    }
    found
}

/// The scrape config of docs/fleet/prometheus.yml (which docs/METRICS.md
/// and docs/FLEET.md show; tests/fleet.rs checks their copies).
fn documented_scrape_config() -> String {
    std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/fleet/prometheus.yml"))
        .unwrap()
}

/// A Prometheus server on 127.0.0.1 with its storage in a temporary folder,
/// killed when dropped.
struct Prometheus {
    child: std::process::Child,
    addr: String,
    _dir: TempDir,
}

impl Prometheus {
    fn start(bin: &Path, config: &str) -> Prometheus {
        let dir = TempDir::new("prometheus");
        std::fs::write(dir.path("prometheus.yml"), config).unwrap();
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let addr = format!("127.0.0.1:{port}");
        let log = std::fs::File::create(dir.path("prometheus.log")).unwrap();
        let child = Command::new(bin)
            .arg(format!(
                "--config.file={}",
                dir.path("prometheus.yml").display()
            ))
            .arg(format!(
                "--storage.tsdb.path={}",
                dir.path("data").display()
            ))
            .arg(format!("--web.listen-address={addr}"))
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .unwrap();
        let p = Prometheus {
            child,
            addr,
            _dir: dir,
        };
        eventually("Prometheus ready", || {
            std::thread::sleep(Duration::from_millis(50));
            TcpStream::connect(&p.addr).is_ok()
                && request(&p.addr, "GET /-/ready HTTP/1.0\r\n\r\n").status == 200
        });
        p
    }

    /// The `data.result` of an instant query.
    fn query(&self, promql: &str) -> Vec<serde_json::Value> {
        let r = request(
            &self.addr,
            &format!(
                "GET /api/v1/query?query={} HTTP/1.0\r\n\r\n",
                percent(promql)
            ),
        );
        assert_eq!(r.status, 200, "{promql}: {}", r.body);
        let v: serde_json::Value = serde_json::from_str(&r.body).unwrap();
        assert_eq!(v["status"], "success", "{v}");
        v["data"]["result"].as_array().unwrap().clone()
    }

    /// The samples (Unix seconds, value) of one series over `range`.
    fn samples(&self, selector: &str, range: &str) -> Vec<(f64, String)> {
        let result = self.query(&format!("{selector}[{range}]"));
        assert!(result.len() <= 1, "{selector}: {result:?}");
        result
            .first()
            .map(|series| {
                series["values"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|p| (p[0].as_f64().unwrap(), p[1].as_str().unwrap().to_string()))
                    .collect()
            })
            .unwrap_or_default()
    }
}

impl Drop for Prometheus {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn percent(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            b => format!("%{b:02X}"),
        })
        .collect()
}

fn unix_now() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs_f64()
}

#[test]
fn prometheus_sees_a_killed_emitter_as_process_gone_at_the_next_scrape() {
    let Some(bin) = prometheus() else { return };
    let dir = TempDir::new("metrics-prom");
    let mut app = Child::emitter(&dir.path("app.json"), 1000);
    app.send("ready serving");
    let ex = Exporter::start(&["--host-id", "web1", dir.dir().to_str().unwrap()]);
    let config = documented_scrape_config();
    assert_eq!(config.matches("\"relay:9464\"").count(), 1, "{config}");
    let prom = Prometheus::start(&bin, &config.replace("relay:9464", &ex.addr));

    let series = |verdict: &str| {
        format!(
            r#"lifesign_verdict{{job="lifesign",host="web1",name="app",lifesign_verdict="{verdict}"}}"#
        )
    };
    eventually("Prometheus stores the live emitter as alive", || {
        std::thread::sleep(Duration::from_millis(100));
        prom.query(&format!("{} == 1", series("alive"))).len() == 1
    });
    let state = prom.query(r#"lifesign_state{name="app",lifesign_state="ready"}"#);
    assert_eq!(state[0]["value"][1], "1", "{state:?}");

    // kill -9, reaped: every scrape that starts from now on must read
    // process_gone, the first one included.
    app.child.kill().unwrap();
    app.child.wait().unwrap();
    let killed = unix_now();
    eventually("a scrape after the kill", || {
        std::thread::sleep(Duration::from_millis(100));
        prom.samples(&series("process_gone"), "1m")
            .iter()
            .any(|(t, _)| *t > killed)
    });
    let gone = prom.samples(&series("process_gone"), "1m");
    let alive = prom.samples(&series("alive"), "1m");
    assert!(
        alive.iter().any(|(t, v)| *t < killed && v == "1"),
        "{alive:?}"
    );
    let after: Vec<_> = gone.iter().filter(|(t, _)| *t > killed).collect();
    assert!(
        after.iter().all(|(_, v)| v == "1"),
        "after the kill at {killed}: {gone:?}"
    );
    assert!(
        alive
            .iter()
            .filter(|(t, _)| *t > killed)
            .all(|(_, v)| v == "0"),
        "{alive:?}"
    );
    // And the exporter's own series reached Prometheus too.
    assert_eq!(
        prom.query(r#"lifesign_files{job="lifesign"}"#)[0]["value"][1],
        "1"
    );
}
