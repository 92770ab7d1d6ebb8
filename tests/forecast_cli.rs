//! `scf forecast` end to end: a CSV history in, a forecast CSV out; a bad line is named.

mod support;

#[test]
fn forecasts_a_csv_and_names_bad_lines() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut csv = String::from("unique_id,ds,y\n");
    for t in 1..=36 {
        let seasonal = [10.0, 12.0, 15.0, 11.0][t % 4];
        csv.push_str(&format!(
            "a,{t},{}\nb,{t},{}\n",
            seasonal + t as f64 * 0.5,
            if t % 3 == 0 { 2 } else { 0 }
        ));
    }
    std::fs::write(dir.path().join("train.csv"), csv).expect("write");
    let out = support::scf(
        dir.path(),
        &[
            "forecast",
            "--input",
            "train.csv",
            "--horizon",
            "6",
            "--season",
            "4",
            "--out",
            "fc.csv",
        ],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = std::fs::read_to_string(dir.path().join("fc.csv")).expect("forecast");
    let mut lines = text.lines();
    assert_eq!(
        lines.next(),
        Some("unique_id,ds,auto,auto-lo-95,auto-lo-80,auto-hi-80,auto-hi-95")
    );
    let rows: Vec<&str> = lines.collect();
    assert_eq!(rows.len(), 12, "6 periods for each of 2 series");
    assert!(
        rows[0].starts_with("a,37,") && rows[6].starts_with("b,37,"),
        "{rows:?}"
    );

    std::fs::write(
        dir.path().join("bad.csv"),
        "unique_id,ds,y\na,1,1\na,2,lots\n",
    )
    .expect("write");
    let bad = support::scf(
        dir.path(),
        &[
            "forecast",
            "--input",
            "bad.csv",
            "--horizon",
            "2",
            "--out",
            "x.csv",
        ],
    );
    assert_eq!(bad.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&bad.stderr).contains("line 3"),
        "{}",
        String::from_utf8_lossy(&bad.stderr)
    );
}
