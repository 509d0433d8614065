//! Must fail to compile: a match on a verdict needs a wildcard arm (later
//! versions may add verdicts).
fn main() {
    let v = lifesign::check("x", &lifesign::CheckOptions::default()).verdict;
    let _ = match v {
        lifesign::Verdict::Alive => 0,
        lifesign::Verdict::Missing => 1,
        lifesign::Verdict::Invalid => 2,
        lifesign::Verdict::Stale => 3,
        lifesign::Verdict::Future => 4,
        lifesign::Verdict::ProcessGone => 5,
        lifesign::Verdict::PidMismatch => 6,
        lifesign::Verdict::Stopped => 7,
        lifesign::Verdict::Failed => 8,
        lifesign::Verdict::Stalled => 9,
    };
}
